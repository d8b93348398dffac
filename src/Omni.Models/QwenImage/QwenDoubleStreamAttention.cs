using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.QwenImage;

/// <summary>
/// Qwen-Image's double-stream attention: image and text projections with per-head RMS norms and rotary positions,
/// joined as [text, image]; a text mask hides padded text <em>keys</em> (padded tokens still produce outputs).
/// </summary>
public sealed class QwenDoubleStreamAttention : Module
{
    private readonly AdaptableLinear to_q, to_k, to_v, add_q_proj, add_k_proj, add_v_proj, to_add_out;
    private readonly ModuleList<Module<Tensor, Tensor>> to_out;
    private readonly RmsNorm norm_q, norm_k, norm_added_q, norm_added_k;
    private readonly int _heads;

    /// <summary>Creates the attention for width <paramref name="dim"/>.</summary>
    public QwenDoubleStreamAttention(long dim, int heads) : base(nameof(QwenDoubleStreamAttention))
    {
        _heads = heads;
        var headDim = dim / heads;
        to_q = new AdaptableLinear(dim, dim);
        to_k = new AdaptableLinear(dim, dim);
        to_v = new AdaptableLinear(dim, dim);
        add_k_proj = new AdaptableLinear(dim, dim);
        add_v_proj = new AdaptableLinear(dim, dim);
        add_q_proj = new AdaptableLinear(dim, dim);
        to_out = new ModuleList<Module<Tensor, Tensor>>(new AdaptableLinear(dim, dim), Dropout(0.0));
        to_add_out = new AdaptableLinear(dim, dim);
        norm_q = new RmsNorm(headDim, 1e-6);
        norm_k = new RmsNorm(headDim, 1e-6);
        norm_added_q = new RmsNorm(headDim, 1e-6);
        norm_added_k = new RmsNorm(headDim, 1e-6);
        RegisterComponents();
    }

    /// <summary>Attends; <paramref name="textMask"/> (B, S_txt) marks real text tokens.</summary>
    public (Tensor Image, Tensor Text) Attend(Tensor image, Tensor text, Tensor? textMask, Tensor imageRope, Tensor textRope)
    {
        using var scope = NewDisposeScope();
        var q = QwenRope.Apply(norm_q.forward(Heads(to_q.forward(image))), imageRope);
        var k = QwenRope.Apply(norm_k.forward(Heads(to_k.forward(image))), imageRope);
        var v = Heads(to_v.forward(image));
        var tq = QwenRope.Apply(norm_added_q.forward(Heads(add_q_proj.forward(text))), textRope);
        var tk = QwenRope.Apply(norm_added_k.forward(Heads(add_k_proj.forward(text))), textRope);
        var tv = Heads(add_v_proj.forward(text));

        var query = cat([tq, q], 1).permute(0, 2, 1, 3);
        var key = cat([tk, k], 1).permute(0, 2, 1, 3);
        var value = cat([tv, v], 1).permute(0, 2, 1, 3);
        Tensor? mask = null;
        if (textMask is not null)
        {
            var keys = cat([textMask.to(ScalarType.Bool), ones(image.shape[0], image.shape[1], ScalarType.Bool, image.device)], 1);
            mask = keys.unsqueeze(1).unsqueeze(1);
        }
        var o = functional.scaled_dot_product_attention(query, key, value, mask);
        o = o.permute(0, 2, 1, 3).flatten(2).to(query.dtype);
        var textLength = text.shape[1];
        var textOut = to_add_out.forward(o.narrow(1, 0, textLength));
        var imageOut = to_out[0].forward(o.narrow(1, textLength, image.shape[1]));
        return (imageOut.MoveToOuterDisposeScope(), textOut.MoveToOuterDisposeScope());
    }

    // (B, S, D) → (B, S, heads, dh): the sequence-major layout the rotary embedding expects.
    private Tensor Heads(Tensor projected) => projected.view(projected.shape[0], projected.shape[1], _heads, projected.shape[2] / _heads);
}
