using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Common;

/// <summary>diffusers' <c>FP32LayerNorm</c> with affine parameters: normalises in float32 whatever the parameters' dtype, then casts back.</summary>
public sealed class Fp32LayerNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight, bias;
    private readonly double _eps;

    /// <summary>Creates the norm over a last dimension of width <paramref name="dim"/>.</summary>
    public Fp32LayerNorm(long dim, double eps) : base(nameof(Fp32LayerNorm))
    {
        weight = new Parameter(ones(dim));
        bias = new Parameter(zeros(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var normed = functional.layer_norm(x.to(ScalarType.Float32), [x.shape[^1]], weight.to(ScalarType.Float32), bias.to(ScalarType.Float32), _eps);
        return normed.to(x.dtype).MoveToOuterDisposeScope();
    }
}
