using static TorchSharp.torch;

namespace Omni.Algebra.Pipelines;

/// <summary>Classifier-free guidance combinations used by the pipelines.</summary>
public static class Guidance
{
    /// <summary>Plain CFG, <c>neg + s·(pos − neg)</c> (SD3's batched guidance, Wan).</summary>
    public static Tensor Combine(Tensor positive, Tensor negative, double scale)
    {
        using var scope = NewDisposeScope();
        return (negative + scale * (positive - negative)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Qwen-Image's true CFG with norm rescaling: <c>c = neg + s·(pos − neg)</c>, returned as
    /// <c>c·‖pos‖/‖c‖</c> with L2 norms over the last dimension (one norm per token).
    /// </summary>
    public static Tensor TrueCfg(Tensor positive, Tensor negative, double scale)
    {
        using var scope = NewDisposeScope();
        var combined = negative + scale * (positive - negative);
        var positiveNorm = positive.norm(-1, true);
        var combinedNorm = combined.norm(-1, true);
        return (combined * (positiveNorm / combinedNorm)).MoveToOuterDisposeScope();
    }
}
