using System.Collections.Immutable;
using System.Text.Json;

namespace Omni.Models.Wan;

/// <summary>The configuration of diffusers' <c>WanTransformer3DModel</c> (text-to-video), with diffusers' defaults for absent keys.</summary>
public sealed record WanConfig
{
    /// <summary><c>patch_size</c> (frames, height, width).</summary>
    public ImmutableArray<int> PatchSize { get; init; } = [1, 2, 2];
    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 40;
    /// <summary><c>attention_head_dim</c>.</summary>
    public int AttentionHeadDim { get; init; } = 128;
    /// <summary><c>in_channels</c>.</summary>
    public int InChannels { get; init; } = 16;
    /// <summary><c>out_channels</c>.</summary>
    public int OutChannels { get; init; } = 16;
    /// <summary><c>text_dim</c>.</summary>
    public int TextDim { get; init; } = 4096;
    /// <summary><c>freq_dim</c>: sinusoidal timestep channels.</summary>
    public int FreqDim { get; init; } = 256;
    /// <summary><c>ffn_dim</c>.</summary>
    public int FfnDim { get; init; } = 13824;
    /// <summary><c>num_layers</c>.</summary>
    public int NumLayers { get; init; } = 40;
    /// <summary><c>cross_attn_norm</c>: affine LayerNorm before the cross-attention.</summary>
    public bool CrossAttnNorm { get; init; } = true;
    /// <summary><c>eps</c>.</summary>
    public double Eps { get; init; } = 1e-6;
    /// <summary><c>rope_max_seq_len</c>.</summary>
    public int RopeMaxSeqLen { get; init; } = 1024;

    /// <summary>The hidden width D.</summary>
    public int InnerDim => NumAttentionHeads * AttentionHeadDim;

    /// <summary>Reads a <c>config.json</c> text; image conditioning (I2V) and other qk norms are rejected.</summary>
    public static WanConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var c = new WanConfig();
        int Int(string key, int fallback) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        bool Present(string key) => root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;
        foreach (var key in new[] { "image_dim", "added_kv_proj_dim", "pos_embed_seq_len" })
            if (Present(key)) throw new NotSupportedException($"WanTransformer3DModel with {key} (image conditioning) is not supported yet.");
        if (root.TryGetProperty("qk_norm", out var norm) && norm.GetString() != "rms_norm_across_heads")
            throw new NotSupportedException($"WanTransformer3DModel qk_norm '{norm.GetString()}' is not supported; expected 'rms_norm_across_heads'.");
        return c with
        {
            PatchSize = root.TryGetProperty("patch_size", out var p) ? [.. p.EnumerateArray().Select(x => x.GetInt32())] : c.PatchSize,
            NumAttentionHeads = Int("num_attention_heads", c.NumAttentionHeads),
            AttentionHeadDim = Int("attention_head_dim", c.AttentionHeadDim),
            InChannels = Int("in_channels", c.InChannels),
            OutChannels = Int("out_channels", c.OutChannels),
            TextDim = Int("text_dim", c.TextDim),
            FreqDim = Int("freq_dim", c.FreqDim),
            FfnDim = Int("ffn_dim", c.FfnDim),
            NumLayers = Int("num_layers", c.NumLayers),
            CrossAttnNorm = !root.TryGetProperty("cross_attn_norm", out var can) || can.ValueKind != JsonValueKind.False,
            Eps = root.TryGetProperty("eps", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : c.Eps,
            RopeMaxSeqLen = Int("rope_max_seq_len", c.RopeMaxSeqLen),
        };
    }
}
