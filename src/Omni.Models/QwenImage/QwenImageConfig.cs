using System.Collections.Immutable;
using System.Text.Json;

namespace Omni.Models.QwenImage;

/// <summary>The configuration of diffusers' <c>QwenImageTransformer2DModel</c>, with diffusers' defaults for absent keys.</summary>
public sealed record QwenImageConfig
{
    /// <summary><c>patch_size</c>.</summary>
    public int PatchSize { get; init; } = 2;
    /// <summary><c>in_channels</c> (packed: 4 × latent channels).</summary>
    public int InChannels { get; init; } = 64;
    /// <summary><c>out_channels</c>.</summary>
    public int OutChannels { get; init; } = 16;
    /// <summary><c>num_layers</c>.</summary>
    public int NumLayers { get; init; } = 60;
    /// <summary><c>attention_head_dim</c>.</summary>
    public int AttentionHeadDim { get; init; } = 128;
    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 24;
    /// <summary><c>joint_attention_dim</c>: width of the text encoder states.</summary>
    public int JointAttentionDim { get; init; } = 3584;
    /// <summary><c>axes_dims_rope</c>: rotary dimensions for (frame, row, column); they sum to the head dim.</summary>
    public ImmutableArray<int> AxesDimsRope { get; init; } = [16, 56, 56];

    /// <summary>The hidden width D.</summary>
    public int InnerDim => NumAttentionHeads * AttentionHeadDim;

    /// <summary>Reads a <c>config.json</c> text; unknown keys are ignored, unsupported variants rejected.</summary>
    public static QwenImageConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var config = new QwenImageConfig();
        int Int(string key, int fallback) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        bool Flag(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True;
        var outChannels = Int("out_channels", 0);
        config = config with
        {
            PatchSize = Int("patch_size", config.PatchSize),
            InChannels = Int("in_channels", config.InChannels),
            OutChannels = outChannels == 0 ? Int("in_channels", config.InChannels) : outChannels,
            NumLayers = Int("num_layers", config.NumLayers),
            AttentionHeadDim = Int("attention_head_dim", config.AttentionHeadDim),
            NumAttentionHeads = Int("num_attention_heads", config.NumAttentionHeads),
            JointAttentionDim = Int("joint_attention_dim", config.JointAttentionDim),
            AxesDimsRope = root.TryGetProperty("axes_dims_rope", out var axes) && axes.ValueKind == JsonValueKind.Array
                ? [.. axes.EnumerateArray().Select(a => a.GetInt32())] : config.AxesDimsRope,
        };
        foreach (var flag in new[] { "guidance_embeds", "zero_cond_t", "use_additional_t_cond", "use_layer3d_rope" })
            if (Flag(flag)) throw new NotSupportedException($"QwenImageTransformer2DModel with {flag} = true is not supported yet.");
        if (config.AxesDimsRope.Sum() != config.AttentionHeadDim)
            throw new ArgumentException($"axes_dims_rope [{string.Join(", ", config.AxesDimsRope)}] must sum to attention_head_dim {config.AttentionHeadDim}.");
        return config;
    }
}
