using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Vae;

/// <summary>The Qwen-Image VAE decoder body: conv_in, middle block, up blocks, RMS norm, SiLU, conv_out.</summary>
public sealed class QwenDecoder3d : Module<Tensor, Tensor>
{
    private readonly CausalConv3d conv_in, conv_out;
    private readonly QwenVaeMidBlock mid_block;
    private readonly ModuleList<QwenVaeUpBlock> up_blocks;
    private readonly ChannelRmsNorm norm_out;

    /// <summary>Creates the decoder.</summary>
    public QwenDecoder3d(QwenImageVaeConfig c) : base(nameof(QwenDecoder3d))
    {
        var mult = c.DimMult;
        var dims = new[] { mult[^1] }.Concat(mult.Reverse()).Select(m => (long)c.BaseDim * m).ToArray();
        var temporalUpsample = c.TemporalDownsample.Reverse().ToArray();
        conv_in = new CausalConv3d(c.ZDim, dims[0], 3);
        mid_block = new QwenVaeMidBlock(dims[0]);
        var blocks = new List<QwenVaeUpBlock>();
        for (var i = 0; i < dims.Length - 1; i++)
        {
            var inDim = i > 0 ? dims[i] / 2 : dims[i];
            var mode = i == mult.Length - 1 ? null : temporalUpsample[i] ? "upsample3d" : "upsample2d";
            blocks.Add(new QwenVaeUpBlock(inDim, dims[i + 1], c.NumResBlocks + 1, mode));
        }
        up_blocks = new ModuleList<QwenVaeUpBlock>(blocks.ToArray());
        norm_out = new ChannelRmsNorm(dims[^1], images: false);
        conv_out = new CausalConv3d(dims[^1], 3, 3);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = mid_block.forward(conv_in.forward(x));
        foreach (var block in up_blocks) x = block.forward(x);
        return conv_out.forward(functional.silu(norm_out.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>RMS norm, SiLU, causal conv, twice, plus a 1×1×1 causal shortcut when widths differ.</summary>
public sealed class QwenVaeResidualBlock : Module<Tensor, Tensor>
{
    private readonly ChannelRmsNorm norm1, norm2;
    private readonly CausalConv3d conv1, conv2;
    private readonly CausalConv3d? conv_shortcut;

    /// <summary>Creates the block.</summary>
    public QwenVaeResidualBlock(long inDim, long outDim) : base(nameof(QwenVaeResidualBlock))
    {
        norm1 = new ChannelRmsNorm(inDim, images: false);
        conv1 = new CausalConv3d(inDim, outDim, 3);
        norm2 = new ChannelRmsNorm(outDim, images: false);
        conv2 = new CausalConv3d(outDim, outDim, 3);
        if (inDim != outDim) conv_shortcut = new CausalConv3d(inDim, outDim, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shortcut = conv_shortcut is null ? x : conv_shortcut.forward(x);
        var h = conv1.forward(functional.silu(norm1.forward(x)));
        h = conv2.forward(functional.silu(norm2.forward(h)));
        return (h + shortcut).MoveToOuterDisposeScope();
    }
}

/// <summary>Single-head spatial self-attention applied to each frame, with a residual.</summary>
public sealed class QwenVaeAttention : Module<Tensor, Tensor>
{
    private readonly ChannelRmsNorm norm;
    private readonly Conv2d to_qkv, proj;

    /// <summary>Creates the attention.</summary>
    public QwenVaeAttention(long dim) : base(nameof(QwenVaeAttention))
    {
        norm = new ChannelRmsNorm(dim, images: true);
        to_qkv = Conv2d(dim, dim * 3, 1);
        proj = Conv2d(dim, dim, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]);
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w);
        var qkv = to_qkv.forward(norm.forward(frames)).reshape(b * t, 1, c * 3, -1).permute(0, 1, 3, 2).contiguous().chunk(3, -1);
        var attended = functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
        var back = proj.forward(attended.squeeze(1).permute(0, 2, 1).reshape(b * t, c, h, w));
        return (back.view(b, t, c, h, w).permute(0, 2, 1, 3, 4) + x).MoveToOuterDisposeScope();
    }
}

/// <summary>Residual block, attention, residual block.</summary>
public sealed class QwenVaeMidBlock : Module<Tensor, Tensor>
{
    private readonly ModuleList<QwenVaeResidualBlock> resnets;
    private readonly ModuleList<QwenVaeAttention> attentions;

    /// <summary>Creates the block.</summary>
    public QwenVaeMidBlock(long dim) : base(nameof(QwenVaeMidBlock))
    {
        resnets = new ModuleList<QwenVaeResidualBlock>(new QwenVaeResidualBlock(dim, dim), new QwenVaeResidualBlock(dim, dim));
        attentions = new ModuleList<QwenVaeAttention>(new QwenVaeAttention(dim));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return resnets[1].forward(attentions[0].forward(resnets[0].forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>Residual blocks, then (except last) a ×2 spatial upsampling that halves the channels.</summary>
public sealed class QwenVaeUpBlock : Module<Tensor, Tensor>
{
    private readonly ModuleList<QwenVaeResidualBlock> resnets;
    private readonly ModuleList<QwenVaeResample>? upsamplers;

    /// <summary>Creates the block; <paramref name="mode"/> is <c>upsample2d</c>, <c>upsample3d</c> or null.</summary>
    public QwenVaeUpBlock(long inDim, long outDim, int layers, string? mode) : base(nameof(QwenVaeUpBlock))
    {
        resnets = new ModuleList<QwenVaeResidualBlock>(Enumerable.Range(0, layers).Select(j => new QwenVaeResidualBlock(j == 0 ? inDim : outDim, outDim)).ToArray());
        if (mode is not null) upsamplers = new ModuleList<QwenVaeResample>(new QwenVaeResample(outDim, mode == "upsample3d"));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.forward(x);
        if (upsamplers is not null) x = upsamplers[0].forward(x);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Nearest ×2 spatial upsampling and a 3×3 conv to half the channels (<c>resample.1</c>); the 3-D variant also owns a
/// temporal up-convolution (<c>time_conv</c>), which the reference skips on the first chunk — the only chunk a
/// single-frame decode has.
/// </summary>
public sealed class QwenVaeResample : Module<Tensor, Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> resample;
    private readonly CausalConv3d? time_conv;

    /// <summary>Creates the upsampler.</summary>
    public QwenVaeResample(long dim, bool temporal) : base(nameof(QwenVaeResample))
    {
        resample = new ModuleList<Module<Tensor, Tensor>>(Identity(), Conv2d(dim, dim / 2, 3, padding: 1));
        if (temporal) time_conv = new CausalConv3d(dim, dim * 2, 3, (3, 1, 1));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]);
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w);
        var up = functional.interpolate(frames, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        var conv = resample[1].forward(up);
        return conv.view(b, t, conv.shape[1], conv.shape[2], conv.shape[3]).permute(0, 2, 1, 3, 4).MoveToOuterDisposeScope();
    }
}
