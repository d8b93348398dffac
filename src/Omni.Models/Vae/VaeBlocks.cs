using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Vae;

/// <summary>diffusers' <c>ResnetBlock2D</c> without time embedding: GroupNorm, SiLU, 3×3 conv, twice, plus a 1×1 shortcut when widths differ.</summary>
public sealed class ResnetBlock2D : Module<Tensor, Tensor>
{
    private readonly GroupNorm norm1, norm2;
    private readonly Conv2d conv1, conv2;
    private readonly Conv2d? conv_shortcut;

    /// <summary>Creates the block.</summary>
    public ResnetBlock2D(long inChannels, long outChannels, long groups) : base(nameof(ResnetBlock2D))
    {
        norm1 = GroupNorm(groups, inChannels, 1e-6);
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1);
        norm2 = GroupNorm(groups, outChannels, 1e-6);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) conv_shortcut = Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv1.forward(functional.silu(norm1.forward(x)));
        h = conv2.forward(functional.silu(norm2.forward(h)));
        var shortcut = conv_shortcut is null ? x : conv_shortcut.forward(x);
        return (shortcut + h).MoveToOuterDisposeScope();
    }
}

/// <summary>The VAE's single-head spatial self-attention (GroupNorm first, residual added).</summary>
public sealed class VaeAttention : Module<Tensor, Tensor>
{
    private readonly GroupNorm group_norm;
    private readonly Linear to_q, to_k, to_v;
    private readonly ModuleList<Module<Tensor, Tensor>> to_out;

    /// <summary>Creates the attention over <paramref name="channels"/> channels.</summary>
    public VaeAttention(long channels, long groups) : base(nameof(VaeAttention))
    {
        group_norm = GroupNorm(groups, channels, 1e-6);
        to_q = Linear(channels, channels);
        to_k = Linear(channels, channels);
        to_v = Linear(channels, channels);
        to_out = new ModuleList<Module<Tensor, Tensor>>(Linear(channels, channels), Dropout(0.0));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var tokens = group_norm.forward(x.view(b, c, h * w)).transpose(1, 2);
        var q = to_q.forward(tokens).unsqueeze(1);
        var k = to_k.forward(tokens).unsqueeze(1);
        var v = to_v.forward(tokens).unsqueeze(1);
        var attended = functional.scaled_dot_product_attention(q, k, v).squeeze(1);
        var output = to_out[0].forward(attended).transpose(-1, -2).reshape(b, c, h, w);
        return (output + x).MoveToOuterDisposeScope();
    }
}

/// <summary>diffusers' <c>UNetMidBlock2D</c> as the VAE uses it: resnet, attention, resnet.</summary>
public sealed class VaeMidBlock : Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<VaeAttention>? attentions;

    /// <summary>Creates the block.</summary>
    public VaeMidBlock(long channels, long groups, bool addAttention) : base(nameof(VaeMidBlock))
    {
        resnets = new ModuleList<ResnetBlock2D>(new ResnetBlock2D(channels, channels, groups), new ResnetBlock2D(channels, channels, groups));
        if (addAttention) attentions = new ModuleList<VaeAttention>(new VaeAttention(channels, groups));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = resnets[0].forward(x);
        if (attentions is not null) x = attentions[0].forward(x);
        return resnets[1].forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>A strided 3×3 convolution after padding right and bottom by one (<c>Downsample2D</c> with padding 0).</summary>
public sealed class Downsample2D : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the downsampler.</summary>
    public Downsample2D(long channels) : base(nameof(Downsample2D))
    {
        conv = Conv2d(channels, channels, 3, stride: 2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return conv.forward(functional.pad(x, [0, 1, 0, 1])).MoveToOuterDisposeScope();
    }
}

/// <summary>Nearest-neighbour ×2 upsampling, then a 3×3 convolution (<c>Upsample2D</c>).</summary>
public sealed class Upsample2D : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the upsampler.</summary>
    public Upsample2D(long channels) : base(nameof(Upsample2D))
    {
        conv = Conv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var up = functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.forward(up).MoveToOuterDisposeScope();
    }
}

/// <summary>A stage of resnets followed by an optional resampler (<c>DownEncoderBlock2D</c> / <c>UpDecoderBlock2D</c>).</summary>
public sealed class VaeStage : Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Module<Tensor, Tensor>>? downsamplers;
    private readonly ModuleList<Module<Tensor, Tensor>>? upsamplers;

    /// <summary>Creates a stage of <paramref name="layers"/> resnets; <paramref name="resample"/> is "down", "up" or null.</summary>
    public VaeStage(long inChannels, long outChannels, int layers, long groups, string? resample) : base(nameof(VaeStage))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, layers)
            .Select(j => new ResnetBlock2D(j == 0 ? inChannels : outChannels, outChannels, groups)).ToArray());
        if (resample == "down") downsamplers = new ModuleList<Module<Tensor, Tensor>>(new Downsample2D(outChannels));
        if (resample == "up") upsamplers = new ModuleList<Module<Tensor, Tensor>>(new Upsample2D(outChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.forward(x);
        if (downsamplers is not null) x = downsamplers[0].forward(x);
        if (upsamplers is not null) x = upsamplers[0].forward(x);
        return x.MoveToOuterDisposeScope();
    }
}
