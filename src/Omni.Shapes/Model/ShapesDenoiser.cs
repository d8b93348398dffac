using System.Text.Json;
using System.Text.Json.Nodes;
using Omni.Models.Sd3;
using static TorchSharp.torch;

namespace Omni.Shapes.Model;

/// <summary>
/// The bundled model's denoiser: diffusers' <c>SD3Transformer2DModel</c> (MMDiT) run in pixel space: three
/// channels in and out, images scaled to [−1, 1], a small width and few layers. This class holds its default
/// configuration, the <c>config.json</c> writer and a seeded constructor.
/// </summary>
public static class ShapesDenoiser
{
    /// <summary>The diffusers class name of the denoiser.</summary>
    public const string ClassName = "SD3Transformer2DModel";

    /// <summary>
    /// A tiny pixel-space MMDiT for <paramref name="imageSize"/>² RGB images conditioned on a text encoder of width
    /// <paramref name="textWidth"/> and pooled width <paramref name="pooledWidth"/>.
    /// </summary>
    public static Sd3Config Tiny(int imageSize = 40, int textWidth = 64, int pooledWidth = 64, int patchSize = 10,
                                 int layers = 4, int heads = 2, int headDim = 48) => new()
    {
        SampleSize = imageSize,
        PatchSize = patchSize,
        InChannels = 3,
        OutChannels = 3,
        NumLayers = layers,
        AttentionHeadDim = headDim,
        NumAttentionHeads = heads,
        JointAttentionDim = textWidth,
        CaptionProjectionDim = heads * headDim,
        PooledProjectionDim = pooledWidth,
        PosEmbedMaxSize = Math.Max(16, imageSize / patchSize),
    };

    /// <summary>A freshly built denoiser with seeded weights (<see cref="ShapesInitialisation"/>, adaLN-Zero).</summary>
    public static Sd3Transformer2DModel Create(Sd3Config config, Generator generator)
    {
        var model = new Sd3Transformer2DModel(config);
        ShapesInitialisation.Initialise(model, generator, ShapesInitialisation.IsZeroInitialisedInDenoiser);
        return model;
    }

    /// <summary>The diffusers <c>config.json</c> text of <paramref name="config"/> (read back by <see cref="Sd3Config.Parse"/>).</summary>
    public static string ToJson(Sd3Config config) => new JsonObject
    {
        ["_class_name"] = ClassName,
        ["_diffusers_version"] = "0.35.0",
        ["sample_size"] = config.SampleSize,
        ["patch_size"] = config.PatchSize,
        ["in_channels"] = config.InChannels,
        ["out_channels"] = config.OutChannels,
        ["num_layers"] = config.NumLayers,
        ["attention_head_dim"] = config.AttentionHeadDim,
        ["num_attention_heads"] = config.NumAttentionHeads,
        ["joint_attention_dim"] = config.JointAttentionDim,
        ["caption_projection_dim"] = config.CaptionProjectionDim,
        ["pooled_projection_dim"] = config.PooledProjectionDim,
        ["pos_embed_max_size"] = config.PosEmbedMaxSize,
        ["dual_attention_layers"] = new JsonArray([.. config.DualAttentionLayers.Select(i => (JsonNode)i)]),
        ["qk_norm"] = config.QkNorm,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
