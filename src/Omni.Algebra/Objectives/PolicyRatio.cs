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

    /// <summary><c>actor/ppo_kl</c>, the clip fractions (both sides) and the ratio's mean and (unbiased) std.</summary>
    public static ImmutableDictionary<string, double> Metrics(Tensor oldLogProb, Tensor logProb, Tensor ratio, double clipRatio)
    {
        using var scope = NewDisposeScope();
        var r = ratio.detach();
        var deviation = r - 1;
        return ImmutableDictionary<string, double>.Empty
            .Add("actor/ppo_kl", (oldLogProb - logProb.detach()).mean().item<float>())
            .Add("actor/pg_clipfrac", (deviation.abs() > clipRatio).to(ScalarType.Float32).mean().item<float>())
            .Add("actor/pg_clipfrac_higher", (deviation > clipRatio).to(ScalarType.Float32).mean().item<float>())
            .Add("actor/pg_clipfrac_lower", ((1 - r) > clipRatio).to(ScalarType.Float32).mean().item<float>())
            .Add("actor/ratio_mean", r.mean().item<float>())
            .Add("actor/ratio_std", r.numel() > 1 ? r.std().item<float>() : double.NaN);
    }
}
