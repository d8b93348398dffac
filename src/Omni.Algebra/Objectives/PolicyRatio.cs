using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>The clipped-ratio surrogate shared by Flow-GRPO and GRPO-Guard, and the metrics both log.</summary>
internal static class PolicyRatio
{
    /// <summary><c>mean_b(max(−A·r, −A·clamp(r, 1−ε, 1+ε))·w)</c>.</summary>
    public static Tensor ClippedSurrogate(Tensor ratio, Tensor advantages, Tensor? weights, double clipRatio)
    {
        var unclipped = -advantages * ratio;
        var clipped = -advantages * ratio.clamp(1 - clipRatio, 1 + clipRatio);
        var perSample = maximum(unclipped, clipped);
        if (weights is not null) perSample = perSample * weights.detach();
        return perSample.mean();
    }

    /// <summary>
    /// <c>actor/ppo_kl</c>, the clip fractions (both sides) and the ratio's mean and (unbiased) std, as 0-d float32 tensors
    /// on the ratio's device (nothing is read to the host here).
    /// </summary>
    public static ImmutableDictionary<string, Tensor> Metrics(Tensor oldLogProb, Tensor logProb, Tensor ratio, double clipRatio)
    {
        using var scope = NewDisposeScope();
        var r = ratio.detach();
        var deviation = r - 1;
        Tensor Keep(Tensor t) => t.to(ScalarType.Float32).MoveToOuterDisposeScope();
        return ImmutableDictionary<string, Tensor>.Empty
            .Add("actor/ppo_kl", Keep((oldLogProb - logProb.detach()).mean()))
            .Add("actor/pg_clipfrac", Keep((deviation.abs() > clipRatio).to(ScalarType.Float32).mean()))
            .Add("actor/pg_clipfrac_higher", Keep((deviation > clipRatio).to(ScalarType.Float32).mean()))
            .Add("actor/pg_clipfrac_lower", Keep(((1 - r) > clipRatio).to(ScalarType.Float32).mean()))
            .Add("actor/ratio_mean", Keep(r.mean()))
            .Add("actor/ratio_std", Keep(r.numel() > 1 ? r.std() : full([], float.NaN, ScalarType.Float32, r.device)));
    }
}
