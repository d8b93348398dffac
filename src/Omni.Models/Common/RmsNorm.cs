using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Omni.Models.Common;

/// <summary>diffusers' <c>RMSNorm</c> with an elementwise weight: <c>x·rsqrt(mean(x²) + eps)·weight</c>, computed in float32.</summary>
public sealed class RmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    /// <summary>Creates the norm over the last dimension of width <paramref name="dim"/>.</summary>
    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var variance = input.to(ScalarType.Float32).pow(2).mean([-1], keepdim: true);
        var normed = input * (variance + _eps).rsqrt();
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) normed = normed.to(weight.dtype);
        return (normed * weight).MoveToOuterDisposeScope();
    }
}
