using Omni.Models.Common;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Sd3;

/// <summary>
/// diffusers' <c>JointTransformerBlock</c> (MMDiT): separate modulation and MLPs for image and context streams,
/// one joint attention; optionally SD3.5's extra image-only attention; the last block (context-pre-only) drops the
/// context output.
/// </summary>
public sealed class JointTransformerBlock : Module<Tensor, Tensor, Tensor, (Tensor Image, Tensor? Context)>
{
    private readonly AdaLayerNormZero norm1;
    private readonly Module norm1_context;
    private readonly JointAttention attn;
    private readonly JointAttention? attn2;
    private readonly FeedForward ff;
    private readonly FeedForward? ff_context;

    /// <summary>Creates the block.</summary>
    public JointTransformerBlock(long dim, int heads, bool contextPreOnly, bool dualAttention, bool rmsQkNorm) : base(nameof(JointTransformerBlock))
    {
        norm1 = new AdaLayerNormZero(dim, dualAttention);
        norm1_context = contextPreOnly ? new AdaLayerNormContinuous(dim, dim) : new AdaLayerNormZero(dim);
        attn = new JointAttention(dim, heads, jointContext: true, contextPreOnly, rmsQkNorm);
        if (dualAttention) attn2 = new JointAttention(dim, heads, jointContext: false, contextPreOnly: false, rmsQkNorm);
        ff = new FeedForward(dim);
        if (!contextPreOnly) ff_context = new FeedForward(dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor Image, Tensor? Context) forward(Tensor x, Tensor context, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var n = norm1.forward(x, temb);
        var (normed, gateMsa, shiftMlp, scaleMlp, gateMlp) = (n[0], n[1], n[2], n[3], n[4]);
        Tensor normedContext;
        Tensor[]? c = null;
        if (norm1_context is AdaLayerNormContinuous continuous)
        {
            normedContext = continuous.forward(context, temb);
        }
        else
        {
            c = ((AdaLayerNormZero)norm1_context).forward(context, temb);
            normedContext = c[0];
        }

        var (attended, attendedContext) = attn.forward(normed, normedContext);
        x = x + gateMsa.unsqueeze(1) * attended;
        if (attn2 is not null) x = x + n[6].unsqueeze(1) * attn2.forward(n[5], null).Image;
        x = x + gateMlp.unsqueeze(1) * ff.forward(Norms.Modulate(Norms.LayerNorm(x), shiftMlp, scaleMlp));

        if (c is null || ff_context is null) return (x.MoveToOuterDisposeScope(), null);
        var contextOut = context + c[1].unsqueeze(1) * attendedContext!;
        contextOut = contextOut + c[4].unsqueeze(1) * ff_context.forward(Norms.Modulate(Norms.LayerNorm(contextOut), c[2], c[3]));
        return (x.MoveToOuterDisposeScope(), contextOut.MoveToOuterDisposeScope());
    }
}
