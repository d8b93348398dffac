using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Vae;

/// <summary>
/// diffusers' <c>AutoencoderKL</c> (the SD3 VAE) with its parameter names: an encoder to the posterior's mean and a
/// decoder back to pixels. <see cref="DecodeLatents"/> applies the pipeline's scaling, <c>z/scaling + shift</c>, first.
/// </summary>
public sealed class AutoencoderKL : Module
{
    private readonly VaeCoder encoder, decoder;
    private readonly Conv2d? quant_conv, post_quant_conv;

    /// <summary>Builds the module tree for <paramref name="config"/>.</summary>
    public AutoencoderKL(AutoencoderKLConfig config) : base(nameof(AutoencoderKL))
    {
        Config = config;
        encoder = new VaeCoder(config, encode: true);
        decoder = new VaeCoder(config, encode: false);
        if (config.UseQuantConv) quant_conv = Conv2d(2 * config.LatentChannels, 2 * config.LatentChannels, 1);
        if (config.UsePostQuantConv) post_quant_conv = Conv2d(config.LatentChannels, config.LatentChannels, 1);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public AutoencoderKLConfig Config { get; }

    /// <summary>The posterior mean of images (B, C, H, W) in [−1, 1]: latents (B, latent, H/f, W/f).</summary>
    public Tensor EncodeMean(Tensor images)
    {
        using var scope = NewDisposeScope();
        var moments = encoder.forward(images);
        if (quant_conv is not null) moments = quant_conv.forward(moments);
        return moments.narrow(1, 0, Config.LatentChannels).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes raw VAE latents to images.</summary>
    public Tensor Decode(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var z = post_quant_conv is null ? latents : post_quant_conv.forward(latents);
        return decoder.forward(z).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes the transformer's latents: <c>decode(z / scaling_factor + shift_factor)</c>.</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = NewDisposeScope();
        return Decode(latents / Config.ScalingFactor + (Config.ShiftFactor ?? 0)).MoveToOuterDisposeScope();
    }

    /// <summary>The transformer's latents for images: <c>(mean − shift_factor)·scaling_factor</c>.</summary>
    public Tensor EncodeLatents(Tensor images)
    {
        using var scope = NewDisposeScope();
        return ((EncodeMean(images) - (Config.ShiftFactor ?? 0)) * Config.ScalingFactor).MoveToOuterDisposeScope();
    }
}

/// <summary>The VAE's <c>Encoder</c> or <c>Decoder</c>: conv_in, stages and the mid block in the right order, norm, SiLU, conv_out.</summary>
public sealed class VaeCoder : Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in, conv_out;
    private readonly ModuleList<VaeStage>? down_blocks, up_blocks;
    private readonly VaeMidBlock mid_block;
    private readonly GroupNorm conv_norm_out;

    /// <summary>Creates the encoder (<paramref name="encode"/>) or the decoder.</summary>
    public VaeCoder(AutoencoderKLConfig c, bool encode) : base(encode ? "Encoder" : "Decoder")
    {
        var channels = c.BlockOutChannels;
        var groups = c.NormNumGroups;
        if (encode)
        {
            conv_in = Conv2d(c.InChannels, channels[0], 3, padding: 1);
            down_blocks = new ModuleList<VaeStage>(channels.Select((width, i) =>
                new VaeStage(i == 0 ? channels[0] : channels[i - 1], width, c.LayersPerBlock, groups, i == channels.Length - 1 ? null : "down")).ToArray());
            mid_block = new VaeMidBlock(channels[^1], groups, c.MidBlockAddAttention);
            conv_norm_out = GroupNorm(groups, channels[^1], 1e-6);
            conv_out = Conv2d(channels[^1], 2 * c.LatentChannels, 3, padding: 1);
        }
        else
        {
            var reversed = channels.Reverse().ToArray();
            conv_in = Conv2d(c.LatentChannels, reversed[0], 3, padding: 1);
            mid_block = new VaeMidBlock(reversed[0], groups, c.MidBlockAddAttention);
            up_blocks = new ModuleList<VaeStage>(reversed.Select((width, i) =>
                new VaeStage(i == 0 ? reversed[0] : reversed[i - 1], width, c.LayersPerBlock + 1, groups, i == reversed.Length - 1 ? null : "up")).ToArray());
            conv_norm_out = GroupNorm(groups, channels[0], 1e-6);
            conv_out = Conv2d(channels[0], c.OutChannels, 3, padding: 1);
        }
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv_in.forward(x);
        if (down_blocks is not null)
        {
            foreach (var stage in down_blocks) x = stage.forward(x);
            x = mid_block.forward(x);
        }
        else
        {
            x = mid_block.forward(x);
            foreach (var stage in up_blocks!) x = stage.forward(x);
        }
        return conv_out.forward(functional.silu(conv_norm_out.forward(x))).MoveToOuterDisposeScope();
    }
}
