using System.Collections.Immutable;
using System.Text.Json;

namespace Omni.Models.Vae;

/// <summary>The configuration of diffusers' <c>AutoencoderKL</c> (the SD3 VAE), with diffusers' defaults for absent keys.</summary>
public sealed record AutoencoderKLConfig
{
    /// <summary><c>in_channels</c>.</summary>
    public int InChannels { get; init; } = 3;
    /// <summary><c>out_channels</c>.</summary>
    public int OutChannels { get; init; } = 3;
    /// <summary><c>latent_channels</c>.</summary>
    public int LatentChannels { get; init; } = 4;
    /// <summary><c>block_out_channels</c>.</summary>
    public ImmutableArray<int> BlockOutChannels { get; init; } = [64];
    /// <summary><c>layers_per_block</c>.</summary>
    public int LayersPerBlock { get; init; } = 1;
    /// <summary><c>norm_num_groups</c>.</summary>
    public int NormNumGroups { get; init; } = 32;
    /// <summary><c>scaling_factor</c>.</summary>
    public double ScalingFactor { get; init; } = 0.18215;
    /// <summary><c>shift_factor</c> (SD3: 0.0609).</summary>
    public double? ShiftFactor { get; init; }
    /// <summary><c>use_quant_conv</c>.</summary>
    public bool UseQuantConv { get; init; } = true;
    /// <summary><c>use_post_quant_conv</c>.</summary>
    public bool UsePostQuantConv { get; init; } = true;
    /// <summary><c>mid_block_add_attention</c>.</summary>
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>The spatial down-sampling factor, 2^(blocks − 1).</summary>
    public int ScaleFactor => 1 << (BlockOutChannels.Length - 1);

    /// <summary>Reads a <c>config.json</c> text; unknown keys are ignored.</summary>
    public static AutoencoderKLConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var c = new AutoencoderKLConfig();
        int Int(string key, int fallback) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        double? Double(string key, double? fallback) => root.TryGetProperty(key, out var v) ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null : fallback;
        bool Bool(string key, bool fallback) => root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
        foreach (var key in new[] { "down_block_types", "up_block_types" })
            if (root.TryGetProperty(key, out var types) && types.EnumerateArray().Any(t => t.GetString() is not ("DownEncoderBlock2D" or "UpDecoderBlock2D")))
                throw new NotSupportedException($"AutoencoderKL {key} other than DownEncoderBlock2D/UpDecoderBlock2D are not supported.");
        return c with
        {
            InChannels = Int("in_channels", c.InChannels),
            OutChannels = Int("out_channels", c.OutChannels),
            LatentChannels = Int("latent_channels", c.LatentChannels),
            BlockOutChannels = root.TryGetProperty("block_out_channels", out var b) ? [.. b.EnumerateArray().Select(x => x.GetInt32())] : c.BlockOutChannels,
            LayersPerBlock = Int("layers_per_block", c.LayersPerBlock),
            NormNumGroups = Int("norm_num_groups", c.NormNumGroups),
            ScalingFactor = Double("scaling_factor", c.ScalingFactor) ?? c.ScalingFactor,
            ShiftFactor = Double("shift_factor", c.ShiftFactor),
            UseQuantConv = Bool("use_quant_conv", c.UseQuantConv),
            UsePostQuantConv = Bool("use_post_quant_conv", c.UsePostQuantConv),
            MidBlockAddAttention = Bool("mid_block_add_attention", c.MidBlockAddAttention),
        };
    }
}
