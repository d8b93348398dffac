using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Sd3;

/// <summary>
/// diffusers' <c>Attention</c> with <c>JointAttnProcessor2_0</c>: image tokens attend jointly with context tokens,
/// concatenated as [image, context]; per-head RMS norms on q and k when configured. Without context projections
/// it is plain self-attention (SD3.5's <c>attn2</c>).
/// </summary>
public sealed class JointAttention : Module<Tensor, Tensor?, (Tensor Image, Tensor? Context)>
{
    private readonly AdaptableLinear to_q, to_k, to_v;
    private readonly AdaptableLinear? add_q_proj, add_k_proj, add_v_proj, to_add_out;
    private readonly ModuleList<Module<Tensor, Tensor>> to_out;
    private readonly RmsNorm? norm_q, norm_k, norm_added_q, norm_added_k;
    private readonly int _heads;

    /// <summary>Creates the attention.</summary>
    /// <param name="dim">Hidden width D.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="jointContext">Whether context tokens join (adds <c>add_*_proj</c>).</param>
    /// <param name="contextPreOnly">Last block: the context output is not projected (no <c>to_add_out</c>).</param>
    /// <param name="rmsQkNorm">Whether q and k get per-head RMS norms (eps 1e-6).</param>
    public JointAttention(long dim, int heads, bool jointContext, bool contextPreOnly, bool rmsQkNorm) : base(nameof(JointAttention))
    {
        _heads = heads;
        var headDim = dim / heads;
        to_q = new AdaptableLinear(dim, dim);
        to_k = new AdaptableLinear(dim, dim);
        to_v = new AdaptableLinear(dim, dim);
        if (jointContext)
        {
            add_k_proj = new AdaptableLinear(dim, dim);
            add_v_proj = new AdaptableLinear(dim, dim);
            add_q_proj = new AdaptableLinear(dim, dim);
        }
        to_out = new ModuleList<Module<Tensor, Tensor>>(new AdaptableLinear(dim, dim), Dropout(0.0));
        if (jointContext && !contextPreOnly) to_add_out = new AdaptableLinear(dim, dim);
        if (rmsQkNorm)
        {
            norm_q = new RmsNorm(headDim, 1e-6);
            norm_k = new RmsNorm(headDim, 1e-6);
            if (jointContext)
            {
                norm_added_q = new RmsNorm(headDim, 1e-6);
                norm_added_k = new RmsNorm(headDim, 1e-6);
            }
        }
        RegisterComponents();
    }

    /// <summary>Attends; returns the projected image output and the (projected unless context-pre-only) context output.</summary>
    public override (Tensor Image, Tensor? Context) forward(Tensor x, Tensor? context)
    {
        using var scope = NewDisposeScope();
        var q = Heads(to_q.forward(x), norm_q);
        var k = Heads(to_k.forward(x), norm_k);
        var v = Heads(to_v.forward(x), null);
        var imageTokens = x.shape[1];
        if (context is not null && add_q_proj is not null)
        {
            q = cat([q, Heads(add_q_proj.forward(context), norm_added_q)], 2);
            k = cat([k, Heads(add_k_proj!.forward(context), norm_added_k)], 2);
            v = cat([v, Heads(add_v_proj!.forward(context), null)], 2);
        }
        var o = functional.scaled_dot_product_attention(q, k, v);
        o = o.transpose(1, 2).reshape(x.shape[0], -1, x.shape[2]).to(q.dtype);
        var image = to_out[0].forward(o.narrow(1, 0, imageTokens));
        Tensor? contextOut = null;
        if (context is not null && add_q_proj is not null)
        {
            contextOut = o.narrow(1, imageTokens, o.shape[1] - imageTokens);
            if (to_add_out is not null) contextOut = to_add_out.forward(contextOut);
        }
        return (image.MoveToOuterDisposeScope(), contextOut?.MoveToOuterDisposeScope());
    }

    // (B, N, D) → (B, heads, N, dh), then the per-head norm.
    private Tensor Heads(Tensor projected, RmsNorm? norm)
    {
        var shaped = projected.view(projected.shape[0], -1, _heads, projected.shape[2] / _heads).transpose(1, 2);
        return norm is null ? shaped : norm.forward(shaped);
    }
}
