using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Common;

/// <summary>
/// diffusers' <c>AdaLayerNormZero</c> (<c>linear</c>: D → 6D) and, with <c>dual</c>, <c>SD35AdaLayerNormZeroX</c>
/// (D → 9D). Chunks, in order: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp[, shift_msa2,
/// scale_msa2, gate_msa2]; both modulated outputs come from the same LayerNorm(x).
/// </summary>
public sealed class AdaLayerNormZero : Module<Tensor, Tensor, Tensor[]>
{
    private readonly AdaptableLinear linear;
    private readonly int _chunks;

    /// <summary>Creates the modulation for width <paramref name="dim"/>.</summary>
    public AdaLayerNormZero(long dim, bool dual = false) : base(nameof(AdaLayerNormZero))
    {
        _chunks = dual ? 9 : 6;
        linear = new AdaptableLinear(dim, _chunks * dim);
        RegisterComponents();
    }

    /// <summary>
    /// Returns [x̂, gate_msa, shift_mlp, scale_mlp, gate_mlp] and, for the dual variant, also [x̂2, gate_msa2].
    /// </summary>
    public override Tensor[] forward(Tensor x, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var e = linear.forward(functional.silu(temb)).chunk(_chunks, 1);
        var normalized = Norms.LayerNorm(x);
        var outputs = new List<Tensor> { Norms.Modulate(normalized, e[0], e[1]), e[2], e[3], e[4], e[5] };
        if (_chunks == 9) outputs.AddRange([Norms.Modulate(normalized, e[6], e[7]), e[8]]);
        return outputs.Select(t => t.MoveToOuterDisposeScope()).ToArray();
    }
}

/// <summary>
/// diffusers' <c>AdaLayerNormContinuous</c> without affine LayerNorm: <c>linear</c> (D → 2D) on SiLU(cond), chunked
/// as <b>(scale, shift)</b> — the reverse of <see cref="AdaLayerNormZero"/>.
/// </summary>
public sealed class AdaLayerNormContinuous : Module<Tensor, Tensor, Tensor>
{
    private readonly AdaptableLinear linear;

    /// <summary>Creates the modulation for width <paramref name="dim"/> conditioned on <paramref name="conditioningDim"/>.</summary>
    public AdaLayerNormContinuous(long dim, long conditioningDim) : base(nameof(AdaLayerNormContinuous))
    {
        linear = new AdaptableLinear(conditioningDim, 2 * dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor conditioning)
    {
        using var scope = NewDisposeScope();
        var e = linear.forward(functional.silu(conditioning).to(x.dtype)).chunk(2, 1);
        return Norms.Modulate(Norms.LayerNorm(x), shift: e[1], scale: e[0]).MoveToOuterDisposeScope();
    }
}
