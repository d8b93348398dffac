using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Common;

/// <summary>
/// <c>linear_1 → SiLU → linear_2</c>: diffusers' <c>TimestepEmbedding</c> and <c>PixArtAlphaTextProjection</c>
/// (keys <c>linear_1.*</c>, <c>linear_2.*</c>).
/// </summary>
public sealed class MlpEmbedding : Module<Tensor, Tensor>
{
    private readonly AdaptableLinear linear_1;
    private readonly AdaptableLinear linear_2;
    private readonly bool _geluTanh;

    /// <summary>Creates the two projections; the activation is SiLU, or tanh-approximated GELU (<c>gelu_tanh</c>).</summary>
    public MlpEmbedding(long inFeatures, long outFeatures, bool geluTanh = false) : base(nameof(MlpEmbedding))
    {
        _geluTanh = geluTanh;
        linear_1 = new AdaptableLinear(inFeatures, outFeatures);
        linear_2 = new AdaptableLinear(outFeatures, outFeatures);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = linear_1.forward(input);
        hidden = _geluTanh ? functional.gelu(hidden, approximate: TorchSharp.Modules.GELU.Approximate.tanh) : functional.silu(hidden);
        return linear_2.forward(hidden).MoveToOuterDisposeScope();
    }
}
