using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Wan;

/// <summary>
/// Wan's attention: RMS norms on the full q and k projections (across heads), rotary positions for self-attention,
/// no mask. Cross-attention takes keys and values from the text.
/// </summary>
public sealed class WanAttention : Module
{
    private readonly AdaptableLinear to_q, to_k, to_v;
    private readonly ModuleList<Module<Tensor, Tensor>> to_out;
    private readonly RmsNorm norm_q, norm_k;
    private readonly int _heads;

    /// <summary>Creates the attention for width <paramref name="dim"/>.</summary>
    public WanAttention(long dim, int heads, double eps) : base(nameof(WanAttention))
    {
        _heads = heads;
        to_q = new AdaptableLinear(dim, dim);
        to_k = new AdaptableLinear(dim, dim);
        to_v = new AdaptableLinear(dim, dim);
        to_out = new ModuleList<Module<Tensor, Tensor>>(new AdaptableLinear(dim, dim), Dropout(0.0));
        norm_q = new RmsNorm(dim, eps);
        norm_k = new RmsNorm(dim, eps);
        RegisterComponents();
    }

    /// <summary>Attends from <paramref name="x"/> to <paramref name="context"/> (itself when null), rotating q and k when tables are given.</summary>
    public Tensor Attend(Tensor x, Tensor? context, (Tensor Cos, Tensor Sin)? rope)
    {
        using var scope = NewDisposeScope();
        var source = context ?? x;
        var q = Heads(norm_q.forward(to_q.forward(x)));
        var k = Heads(norm_k.forward(to_k.forward(source)));
        var v = Heads(to_v.forward(source));
        if (rope is { } r)
        {
            q = WanRope.Apply(q, r.Cos, r.Sin);
            k = WanRope.Apply(k, r.Cos, r.Sin);
        }
        var o = functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2);
        return to_out[0].forward(o.flatten(2).to(q.dtype)).MoveToOuterDisposeScope();
    }

    private Tensor Heads(Tensor projected) => projected.view(projected.shape[0], projected.shape[1], _heads, projected.shape[2] / _heads);
}
