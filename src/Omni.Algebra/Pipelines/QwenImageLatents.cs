using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Pipelines;

/// <summary>
/// Qwen-Image's latent packing: 2×2 spatial patches folded into channels,
/// <c>(B, [1,] C, h, w) → (B, (h/2)(w/2), 4C)</c> with channel slowest, then dy, then dx; and the exact inverse,
/// which restores a frame dimension of 1.
/// </summary>
public static class QwenImageLatents
{
    /// <summary>The latent size Qwen-Image uses for a pixel size: <c>2·⌊pixels / (2·vaeScaleFactor)⌋</c>.</summary>
    public static int LatentSize(int pixels, int vaeScaleFactor = 8) => 2 * (pixels / (vaeScaleFactor * 2));

    /// <summary>Packs latents shaped (B, C, h, w) or (B, 1, C, h, w); h and w must be even.</summary>
    public static Either<OmniError, Tensor> Pack(Tensor latents)
    {
        var shape = latents.shape;
        var fiveD = shape.Length == 5;
        if (!(shape.Length == 4 || fiveD && shape[1] == 1))
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.InvalidShape,
                $"Qwen-Image latents to pack must be (B, C, h, w) or (B, 1, C, h, w), got ({string.Join(", ", shape)})."));
        var (b, c, h, w) = fiveD ? (shape[0], shape[2], shape[3], shape[4]) : (shape[0], shape[1], shape[2], shape[3]);
        if (h % 2 != 0 || w % 2 != 0)
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.InvalidShape, $"Qwen-Image packing needs an even latent height and width, got {h}×{w}."));
        using var scope = NewDisposeScope();
        var packed = latents.reshape(b, c, h / 2, 2, w / 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, h / 2 * (w / 2), c * 4);
        return Right<OmniError, Tensor>(packed.MoveToOuterDisposeScope());
    }

    /// <summary>Unpacks (B, (h/2)(w/2), 4C) into (B, C, 1, h, w) for a latent size of h × w.</summary>
    public static Either<OmniError, Tensor> Unpack(Tensor packed, int latentHeight, int latentWidth)
    {
        var shape = packed.shape;
        if (shape.Length != 3 || shape[2] % 4 != 0 || latentHeight % 2 != 0 || latentWidth % 2 != 0
            || shape[1] != (long)(latentHeight / 2) * (latentWidth / 2))
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.InvalidShape,
                $"Cannot unpack ({string.Join(", ", shape)}) to a {latentHeight}×{latentWidth} latent: expected (B, {latentHeight / 2 * (latentWidth / 2)}, 4C) with an even size."));
        var (b, c) = (shape[0], shape[2] / 4);
        using var scope = NewDisposeScope();
        var latents = packed.reshape(b, latentHeight / 2, latentWidth / 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c, 1, latentHeight, latentWidth);
        return Right<OmniError, Tensor>(latents.MoveToOuterDisposeScope());
    }
}
