using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Common;

/// <summary>
/// diffusers' <c>FeedForward</c> with tanh-approximated GELU: <c>net.0.proj</c> (D → 4D), GELU, dropout (a no-op
/// at inference), <c>net.2</c> (4D → D).
/// </summary>
public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> net;

    /// <summary>Creates the block for width <paramref name="dim"/> with a hidden width of <paramref name="innerDim"/> (4·dim by default).</summary>
    public FeedForward(long dim, long? innerDim = null) : base(nameof(FeedForward))
    {
        var inner = innerDim ?? 4 * dim;
        net = new ModuleList<Module<Tensor, Tensor>>(new GeluProjection(dim, inner), Dropout(0.0), new AdaptableLinear(inner, dim));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return net[2].forward(net[0].forward(input)).MoveToOuterDisposeScope();
    }

    private sealed class GeluProjection : Module<Tensor, Tensor>
    {
        private readonly AdaptableLinear proj;

        public GeluProjection(long inFeatures, long outFeatures) : base(nameof(GeluProjection))
        {
            proj = new AdaptableLinear(inFeatures, outFeatures);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => functional.gelu(proj.forward(input), approximate: TorchSharp.Modules.GELU.Approximate.tanh);
    }
}
