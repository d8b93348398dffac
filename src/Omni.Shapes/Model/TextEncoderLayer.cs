using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Shapes.Model;

/// <summary>
/// One pre-norm transformer layer of <see cref="ShapesTextEncoder"/>:
/// <c>x + attn(norm1(x))</c>, then <c>x + fc2(gelu(fc1(norm2(x))))</c>, with a key mask so padding never feeds a word.
/// </summary>
public sealed class TextEncoderLayer : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Linear q_proj, k_proj, v_proj, out_proj, fc1, fc2;
    private readonly int _heads;

    /// <summary>Creates the layer.</summary>
    /// <param name="width">Hidden width D.</param>
    /// <param name="heads">Attention heads (dividing D).</param>
    /// <param name="intermediate">MLP hidden width.</param>
    /// <param name="eps">LayerNorm epsilon.</param>
    public TextEncoderLayer(long width, int heads, long intermediate, double eps) : base(nameof(TextEncoderLayer))
    {
        _heads = heads;
        norm1 = LayerNorm(width, eps);
        norm2 = LayerNorm(width, eps);
        q_proj = Linear(width, width);
        k_proj = Linear(width, width);
        v_proj = Linear(width, width);
        out_proj = Linear(width, width);
        fc1 = Linear(width, intermediate);
        fc2 = Linear(intermediate, width);
        RegisterComponents();
    }

    /// <summary>Transforms <paramref name="x"/> (B, L, D) given the additive key bias (B, 1, 1, L): 0 for words, a large negative for padding.</summary>
    public override Tensor forward(Tensor x, Tensor keyBias)
    {
        using var scope = NewDisposeScope();
        var (b, l, d) = (x.shape[0], x.shape[1], x.shape[2]);
        var h = norm1.forward(x);
        Tensor Heads(Tensor t) => t.view(b, l, _heads, d / _heads).transpose(1, 2);
        var attended = functional.scaled_dot_product_attention(
            Heads(q_proj.forward(h)), Heads(k_proj.forward(h)), Heads(v_proj.forward(h)), keyBias);
        x = x + out_proj.forward(attended.transpose(1, 2).reshape(b, l, d));
        x = x + fc2.forward(functional.gelu(fc1.forward(norm2.forward(x))));
        return x.MoveToOuterDisposeScope();
    }
}
