using Omni.Algebra.Adapters;
using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.QwenImage;

/// <summary>
/// diffusers' <c>QwenImageTransformer2DModel</c> (text-to-image variant). As an <see cref="IDenoiser"/> it takes packed
/// <c>hidden_states</c> (B, S_img, in_channels), <c>encoder_hidden_states</c> (B, S_txt, J), an optional
/// <c>encoder_hidden_states_mask</c> (B, S_txt), <c>timestep</c> (B,) on the 0–1 scale and <c>img_shapes</c>
/// (per sample, per image: frames, height and width in packed tokens); it returns packed (B, S_img, p²·out_channels).
/// </summary>
public sealed class QwenImageTransformer2DModel : Module, IDenoiser
{
    private readonly QwenTimestepEmbedding time_text_embed;
    private readonly AdaptableLinear img_in, txt_in, proj_out;
    private readonly RmsNorm txt_norm;
    private readonly ModuleList<QwenImageTransformerBlock> transformer_blocks;
    private readonly AdaLayerNormContinuous norm_out;

    /// <summary>Builds the module tree for <paramref name="config"/>.</summary>
    public QwenImageTransformer2DModel(QwenImageConfig config) : base(nameof(QwenImageTransformer2DModel))
    {
        Config = config;
        var dim = config.InnerDim;
        time_text_embed = new QwenTimestepEmbedding(dim);
        img_in = new AdaptableLinear(config.InChannels, dim);
        txt_norm = new RmsNorm(config.JointAttentionDim, 1e-6);
        txt_in = new AdaptableLinear(config.JointAttentionDim, dim);
        transformer_blocks = new ModuleList<QwenImageTransformerBlock>(
            Enumerable.Range(0, config.NumLayers).Select(_ => new QwenImageTransformerBlock(dim, config.NumAttentionHeads)).ToArray());
        norm_out = new AdaLayerNormContinuous(dim, dim);
        proj_out = new AdaptableLinear(dim, (long)config.PatchSize * config.PatchSize * config.OutChannels);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public QwenImageConfig Config { get; }

    /// <summary>Recompute each block's activations in the backward pass instead of keeping them. Off by default.</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Predicts the packed velocity. Only the first sample's <paramref name="imageShapes"/> are used, as in the reference.</summary>
    public Tensor Run(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor? encoderHiddenStatesMask, Tensor timestep,
                      IReadOnlyList<(int Frames, int Height, int Width)> imageShapes)
    {
        if (encoderHiddenStatesMask is not null && !encoderHiddenStatesMask.shape.SequenceEqual(encoderHiddenStates.shape[..2]))
            throw new ArgumentException($"encoder_hidden_states_mask has shape ({string.Join(", ", encoderHiddenStatesMask.shape)}); expected ({encoderHiddenStates.shape[0]}, {encoderHiddenStates.shape[1]}).");
        using var scope = NewDisposeScope();
        var x = img_in.forward(hiddenStates);
        var t = timestep.to(x.dtype);
        var text = txt_in.forward(txt_norm.forward(encoderHiddenStates));
        var temb = time_text_embed.forward(t).to(x.dtype);
        var (imageRope, textRope) = QwenRope.Frequencies(Config.AxesDimsRope, imageShapes, (int)encoderHiddenStates.shape[1], x.device);
        foreach (var block in transformer_blocks)
        {
            if (GradientCheckpointing && training)
            {
                // Everything the recomputation reads goes in as an input: autograd keeps inputs alive, while tensors a
                // closure captured would be freed with this method's DisposeScope before the backward pass runs.
                Tensor[] inputs = encoderHiddenStatesMask is null ? [x, text, temb, imageRope, textRope] : [x, text, temb, imageRope, textRope, encoderHiddenStatesMask];
                var outputs = GradientCheckpoint.Run(saved =>
                {
                    var (image, nextText) = block.Forward(saved[0], saved[1], saved.Length > 5 ? saved[5] : null, saved[2], saved[3], saved[4]);
                    return [image, nextText];
                }, inputs);
                (x, text) = (outputs[0], outputs[1]);
            }
            else
            {
                (x, text) = block.Forward(x, text, encoderHiddenStatesMask, temb, imageRope, textRope);
            }
        }
        return proj_out.forward(norm_out.forward(x, temb)).MoveToOuterDisposeScope();
    }

    /// <summary>Runs the model on keyword arguments; latents and text states are cast to the parameters' dtype.</summary>
    public Tensor Forward(ModelInputs inputs)
    {
        using var scope = NewDisposeScope();
        var dtype = proj_out.Weight.dtype;
        var shapes = inputs.Get<IReadOnlyList<IReadOnlyList<(int, int, int)>>>("img_shapes")
                     ?? throw new KeyNotFoundException("Qwen-Image needs 'img_shapes': per sample, a list of (frames, height, width) in packed tokens.");
        return Run(inputs.Tensor("hidden_states").to(dtype), inputs.Tensor("encoder_hidden_states").to(dtype),
                   inputs.Get<Tensor>("encoder_hidden_states_mask"), inputs.Tensor("timestep"), shapes[0]).MoveToOuterDisposeScope();
    }

    /// <summary>Qwen-Image's <c>img_shapes</c> for a batch: one (1, H/f/2, W/f/2) image per sample.</summary>
    public static IReadOnlyList<IReadOnlyList<(int, int, int)>> ImageShapes(int height, int width, int batch, int vaeScaleFactor = 8) =>
        Enumerable.Repeat<IReadOnlyList<(int, int, int)>>([(1, height / vaeScaleFactor / 2, width / vaeScaleFactor / 2)], batch).ToList();
}

/// <summary>Qwen-Image's <c>time_text_embed</c>: the sinusoidal embedding of t ∈ [0, 1] with scale 1000, then <c>timestep_embedder</c>.</summary>
public sealed class QwenTimestepEmbedding : Module<Tensor, Tensor>
{
    private readonly MlpEmbedding timestep_embedder;

    /// <summary>Creates the embedder for width <paramref name="dim"/>.</summary>
    public QwenTimestepEmbedding(long dim) : base(nameof(QwenTimestepEmbedding))
    {
        timestep_embedder = new MlpEmbedding(256, dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor timestep)
    {
        using var scope = NewDisposeScope();
        var projected = SinusoidalTimesteps.Embed(timestep, 256, scale: 1000).to(timestep.dtype);
        return timestep_embedder.forward(projected).MoveToOuterDisposeScope();
    }
}
