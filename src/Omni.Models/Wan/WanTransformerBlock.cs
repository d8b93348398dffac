using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Wan;

/// <summary>
/// Wan's block: modulated self-attention, cross-attention to the text (with an affine LayerNorm), modulated FFN;
/// the six modulation vectors are <c>scale_shift_table + temb</c>, and norms and residuals run in float32.
/// </summary>
public sealed class WanTransformerBlock : Module
{
    private readonly WanAttention attn1, attn2;
    private readonly Fp32LayerNorm? norm2;
    private readonly FeedForward ffn;
    private readonly Parameter scale_shift_table;
    private readonly double _eps;

    /// <summary>Creates the block.</summary>
    public WanTransformerBlock(long dim, long ffnDim, int heads, bool crossAttnNorm, double eps) : base(nameof(WanTransformerBlock))
    {
        _eps = eps;
        attn1 = new WanAttention(dim, heads, eps);
        attn2 = new WanAttention(dim, heads, eps);
        if (crossAttnNorm) norm2 = new Fp32LayerNorm(dim, eps);
        ffn = new FeedForward(dim, ffnDim);
        scale_shift_table = new Parameter(randn(1, 6, dim) / Math.Sqrt(dim));
        RegisterComponents();
    }

    /// <summary>Runs the block; <paramref name="modulation"/> is (B, 6, D).</summary>
    public Tensor Forward(Tensor x, Tensor text, Tensor modulation, (Tensor Cos, Tensor Sin) rope)
    {
        using var scope = NewDisposeScope();
        var m = (scale_shift_table.to(ScalarType.Float32) + modulation.to(ScalarType.Float32)).chunk(6, 1);
        var (shift, scale, gate, cShift, cScale, cGate) = (m[0], m[1], m[2], m[3], m[4], m[5]);
        var normed = (Norms.LayerNorm(x.to(ScalarType.Float32), _eps) * (1 + scale) + shift).to(x.dtype);
        x = (x.to(ScalarType.Float32) + attn1.Attend(normed, null, rope) * gate).to(x.dtype);
        var crossIn = norm2 is null ? x : norm2.forward(x);
        x = x + attn2.Attend(crossIn, text, null);
        normed = (Norms.LayerNorm(x.to(ScalarType.Float32), _eps) * (1 + cScale) + cShift).to(x.dtype);
        x = (x.to(ScalarType.Float32) + ffn.forward(normed).to(ScalarType.Float32) * cGate).to(x.dtype);
        return x.MoveToOuterDisposeScope();
    }
}
