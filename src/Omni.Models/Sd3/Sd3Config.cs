using System.Collections.Immutable;
using System.Text.Json;

namespace Omni.Models.Sd3;

/// <summary>
/// The configuration of diffusers' <c>SD3Transformer2DModel</c> (its <c>config.json</c>), with diffusers' defaults
/// for absent keys. <c>caption_projection_dim</c> must equal <c>num_attention_heads · attention_head_dim</c>.
/// </summary>
public sealed record Sd3Config
{
    /// <summary><c>sample_size</c>.</summary>
    public int SampleSize { get; init; } = 128;
    /// <summary><c>patch_size</c>.</summary>
    public int PatchSize { get; init; } = 2;
    /// <summary><c>in_channels</c>.</summary>
    public int InChannels { get; init; } = 16;
    /// <summary><c>num_layers</c>.</summary>
    public int NumLayers { get; init; } = 18;
    /// <summary><c>attention_head_dim</c>.</summary>
    public int AttentionHeadDim { get; init; } = 64;
    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 18;
    /// <summary><c>joint_attention_dim</c>: width of the text encoder states.</summary>
    public int JointAttentionDim { get; init; } = 4096;
    /// <summary><c>caption_projection_dim</c>.</summary>
    public int CaptionProjectionDim { get; init; } = 1152;
    /// <summary><c>pooled_projection_dim</c>.</summary>
    public int PooledProjectionDim { get; init; } = 2048;
    /// <summary><c>out_channels</c> (falls back to <c>in_channels</c>).</summary>
    public int? OutChannels { get; init; } = 16;
    /// <summary><c>pos_embed_max_size</c>.</summary>
    public int PosEmbedMaxSize { get; init; } = 96;
    /// <summary><c>dual_attention_layers</c>: blocks with a second, image-only attention (SD3.5-Medium).</summary>
    public ImmutableArray<int> DualAttentionLayers { get; init; } = [];
    /// <summary><c>qk_norm</c>: null or <c>rms_norm</c>.</summary>
    public string? QkNorm { get; init; }

    /// <summary>The hidden width D.</summary>
    public int InnerDim => NumAttentionHeads * AttentionHeadDim;

    /// <summary>The output channels.</summary>
    public int OutputChannels => OutChannels ?? InChannels;

    /// <summary>Reads a <c>config.json</c> text; unknown keys are ignored.</summary>
    public static Sd3Config Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var config = new Sd3Config();
        int Int(string key, int fallback) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        config = config with
        {
            SampleSize = Int("sample_size", config.SampleSize),
            PatchSize = Int("patch_size", config.PatchSize),
            InChannels = Int("in_channels", config.InChannels),
            NumLayers = Int("num_layers", config.NumLayers),
            AttentionHeadDim = Int("attention_head_dim", config.AttentionHeadDim),
            NumAttentionHeads = Int("num_attention_heads", config.NumAttentionHeads),
            JointAttentionDim = Int("joint_attention_dim", config.JointAttentionDim),
            CaptionProjectionDim = Int("caption_projection_dim", config.CaptionProjectionDim),
            PooledProjectionDim = Int("pooled_projection_dim", config.PooledProjectionDim),
            OutChannels = root.TryGetProperty("out_channels", out var o) && o.ValueKind == JsonValueKind.Number ? o.GetInt32() : root.TryGetProperty("out_channels", out _) ? null : config.OutChannels,
            PosEmbedMaxSize = Int("pos_embed_max_size", config.PosEmbedMaxSize),
            DualAttentionLayers = root.TryGetProperty("dual_attention_layers", out var d) && d.ValueKind == JsonValueKind.Array
                ? [.. d.EnumerateArray().Select(x => x.GetInt32())] : config.DualAttentionLayers,
            QkNorm = root.TryGetProperty("qk_norm", out var q) && q.ValueKind == JsonValueKind.String ? q.GetString() : null,
        };
        if (config.CaptionProjectionDim != config.InnerDim)
            throw new ArgumentException($"caption_projection_dim ({config.CaptionProjectionDim}) must equal num_attention_heads × attention_head_dim ({config.InnerDim}).");
        if (config.QkNorm is not (null or "rms_norm"))
            throw new NotSupportedException($"qk_norm '{config.QkNorm}' is not supported; SD3 checkpoints use null or 'rms_norm'.");
        return config;
    }
}
