using System.Collections.Immutable;
using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Vae;

/// <summary>The configuration of diffusers' <c>AutoencoderKLQwenImage</c> (decoder side).</summary>
public sealed record QwenImageVaeConfig
{
    /// <summary><c>base_dim</c>.</summary>
    public int BaseDim { get; init; } = 96;
    /// <summary><c>z_dim</c>: latent channels.</summary>
    public int ZDim { get; init; } = 16;
    /// <summary><c>dim_mult</c>.</summary>
    public ImmutableArray<int> DimMult { get; init; } = [1, 2, 4, 4];
    /// <summary><c>num_res_blocks</c>.</summary>
    public int NumResBlocks { get; init; } = 2;
    /// <summary><c>temperal_downsample</c> (sic).</summary>
    public ImmutableArray<bool> TemporalDownsample { get; init; } = [false, true, true];
    /// <summary><c>latents_mean</c> per channel.</summary>
    public ImmutableArray<double> LatentsMean { get; init; } = [];
    /// <summary><c>latents_std</c> per channel.</summary>
    public ImmutableArray<double> LatentsStd { get; init; } = [];

    /// <summary>Reads a <c>config.json</c> text.</summary>
    public static QwenImageVaeConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var r = document.RootElement;
        var c = new QwenImageVaeConfig();
        int Int(string key, int fallback) => r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        if (r.TryGetProperty("attn_scales", out var scales) && scales.GetArrayLength() > 0)
            throw new NotSupportedException("AutoencoderKLQwenImage with attn_scales is not supported.");
        return c with
        {
            BaseDim = Int("base_dim", c.BaseDim),
            ZDim = Int("z_dim", c.ZDim),
            DimMult = r.TryGetProperty("dim_mult", out var m) ? [.. m.EnumerateArray().Select(x => x.GetInt32())] : c.DimMult,
            NumResBlocks = Int("num_res_blocks", c.NumResBlocks),
            TemporalDownsample = r.TryGetProperty("temperal_downsample", out var t) ? [.. t.EnumerateArray().Select(x => x.GetBoolean())] : c.TemporalDownsample,
            LatentsMean = r.TryGetProperty("latents_mean", out var mean) && mean.ValueKind == JsonValueKind.Array ? [.. mean.EnumerateArray().Select(x => x.GetDouble())] : [],
            LatentsStd = r.TryGetProperty("latents_std", out var std) && std.ValueKind == JsonValueKind.Array ? [.. std.EnumerateArray().Select(x => x.GetDouble())] : [],
        };
    }
}

/// <summary>
/// The decoder of diffusers' <c>AutoencoderKLQwenImage</c> for single-frame latents (Qwen-Image images): causal 3-D
/// convolutions (zero history on the first chunk, so the temporal up-convolution is skipped), channel RMS norms,
/// a single-head spatial attention in the middle block, and the output clamped to [−1, 1]. Parameter names are
/// diffusers'; the encoder's keys are not part of this module.
/// </summary>
public sealed class QwenImageVaeDecoder : Module
{
    private readonly CausalConv3d post_quant_conv;
    private readonly QwenDecoder3d decoder;

    /// <summary>Builds the decoder for <paramref name="config"/>.</summary>
    public QwenImageVaeDecoder(QwenImageVaeConfig config) : base(nameof(QwenImageVaeDecoder))
    {
        Config = config;
        post_quant_conv = new CausalConv3d(config.ZDim, config.ZDim, 1);
        decoder = new QwenDecoder3d(config);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public QwenImageVaeConfig Config { get; }

    /// <summary>Decodes raw latents (B, z, 1, h, w) to images (B, 3, 1, 8h, 8w) in [−1, 1].</summary>
    public Tensor Decode(Tensor latents)
    {
        if (latents.dim() != 5 || latents.shape[2] != 1)
            throw new ArgumentException($"Expected single-frame latents (B, C, 1, h, w), got ({string.Join(", ", latents.shape)}).", nameof(latents));
        using var scope = NewDisposeScope();
        return decoder.forward(post_quant_conv.forward(latents)).clamp(-1.0, 1.0).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes the pipeline's normalised latents: <c>latents·std + mean</c> per channel first.</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var z = latents;
        if (!Config.LatentsStd.IsDefaultOrEmpty)
        {
            var shape = new long[] { 1, Config.ZDim, 1, 1, 1 };
            z = z * tensor(Config.LatentsStd.Select(v => (float)v).ToArray()).reshape(shape).to(z.dtype, z.device)
                + tensor(Config.LatentsMean.Select(v => (float)v).ToArray()).reshape(shape).to(z.dtype, z.device);
        }
        return Decode(z).MoveToOuterDisposeScope();
    }
}

/// <summary>A causal 3-D convolution on its first chunk: zeros for the missing history in front, symmetric spatial padding.</summary>
public sealed class CausalConv3d : Module<Tensor, Tensor>
{
    private readonly Parameter weight, bias;
    private readonly long[] _padding;

    /// <summary>Creates the convolution (kernel k×k×k, or (kt, kh, kw) with <paramref name="kernel3"/>).</summary>
    public CausalConv3d(long inChannels, long outChannels, long kernel, (long T, long H, long W)? kernel3 = null) : base(nameof(CausalConv3d))
    {
        var (kt, kh, kw) = kernel3 ?? (kernel, kernel, kernel);
        using var init = Conv3d(inChannels, outChannels, (kt, kh, kw));
        // The detached alias would keep the throw-away layer's weights alive until a finalizer runs.
        using (var initial = init.weight!.detach()) weight = new Parameter(initial.clone());
        using (var initial = init.bias!.detach()) bias = new Parameter(initial.clone());
        var (pt, ph, pw) = (kt / 2, kh / 2, kw / 2);
        _padding = [pw, pw, ph, ph, 2 * pt, 0];
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var padded = _padding.Any(p => p != 0) ? functional.pad(x, _padding) : x;
        return functional.conv3d(padded, weight, bias).MoveToOuterDisposeScope();
    }
}

/// <summary>Channel RMS norm of the Qwen/Wan VAE: <c>normalize(x, dim=1)·√C·γ</c>.</summary>
public sealed class ChannelRmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter gamma;
    private readonly double _scale;

    /// <summary>Creates the norm; <paramref name="images"/> selects γ of shape (C, 1, 1) instead of (C, 1, 1, 1).</summary>
    public ChannelRmsNorm(long dim, bool images) : base(nameof(ChannelRmsNorm))
    {
        gamma = new Parameter(images ? ones(dim, 1, 1) : ones(dim, 1, 1, 1));
        _scale = Math.Sqrt(dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (functional.normalize(x, dim: 1) * _scale * gamma).MoveToOuterDisposeScope();
    }
}
