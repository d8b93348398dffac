using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.QwenImage;

/// <summary>
/// Qwen-Image's dual-stream block: per-stream modulation (<c>img_mod.1</c>, <c>txt_mod.1</c>: SiLU then Linear to 6D,
/// halves of (shift, scale, gate)), joint attention, per-stream MLPs.
/// </summary>
public sealed class QwenImageTransformerBlock : Module
{
    private readonly ModuleList<Module<Tensor, Tensor>> img_mod, txt_mod;
    private readonly QwenDoubleStreamAttention attn;
    private readonly FeedForward img_mlp, txt_mlp;

    /// <summary>Creates the block for width <paramref name="dim"/>.</summary>
    public QwenImageTransformerBlock(long dim, int heads) : base(nameof(QwenImageTransformerBlock))
    {
        img_mod = new ModuleList<Module<Tensor, Tensor>>(SiLU(), new AdaptableLinear(dim, 6 * dim));
        attn = new QwenDoubleStreamAttention(dim, heads);
        img_mlp = new FeedForward(dim);
        txt_mod = new ModuleList<Module<Tensor, Tensor>>(SiLU(), new AdaptableLinear(dim, 6 * dim));
        txt_mlp = new FeedForward(dim);
        RegisterComponents();
    }

    /// <summary>Runs the block; returns the new image and text streams.</summary>
    public (Tensor Image, Tensor Text) Forward(Tensor image, Tensor text, Tensor? textMask, Tensor temb, Tensor imageRope, Tensor textRope)
    {
        using var scope = NewDisposeScope();
        var imageParams = img_mod[1].forward(img_mod[0].forward(temb)).chunk(2, -1);
        var textParams = txt_mod[1].forward(txt_mod[0].forward(temb)).chunk(2, -1);
        var (imageIn, imageGate1) = Modulate(Norms.LayerNorm(image), imageParams[0]);
        var (textIn, textGate1) = Modulate(Norms.LayerNorm(text), textParams[0]);
        var (imageAttended, textAttended) = attn.Attend(imageIn, textIn, textMask, imageRope, textRope);
        image = image + imageGate1 * imageAttended;
        text = text + textGate1 * textAttended;
        var (imageMlpIn, imageGate2) = Modulate(Norms.LayerNorm(image), imageParams[1]);
        image = image + imageGate2 * img_mlp.forward(imageMlpIn);
        var (textMlpIn, textGate2) = Modulate(Norms.LayerNorm(text), textParams[1]);
        text = text + textGate2 * txt_mlp.forward(textMlpIn);
        return (image.MoveToOuterDisposeScope(), text.MoveToOuterDisposeScope());
    }

    // (shift, scale, gate) in that order, each (B, D) broadcast over tokens.
    private static (Tensor Modulated, Tensor Gate) Modulate(Tensor normalized, Tensor parameters)
    {
        var p = parameters.chunk(3, -1);
        return (Norms.Modulate(normalized, p[0], p[1]), p[2].unsqueeze(1));
    }
}
