using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Training.Run;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>The forward passes over a recorded trajectory: the training path, step by step (spec §4.0).</summary>
public static class PolicyPasses
{
    /// <summary>The trajectory as the training adapter reads it, with the old-policy log-probs swapped in.</summary>
    public static ImmutableDictionary<string, object?> MicroBatch(Trajectory chunk) => chunk.ToMicroBatch();

    /// <summary>One step recomputed on <paramref name="denoiser"/> (with or without grad, as the caller's mode says).</summary>
    public static Either<OmniError, PolicyStep> Step(Policy policy, IDenoiser denoiser, Trajectory chunk, int step) =>
        PipelineHelpers.RecomputeStep(policy.Registries, denoiser, policy.Schedule, policy.Config, MicroBatch(chunk), step);

    /// <summary>
    /// A forward-only pass over every recorded step: stacked log-probs (B, T) and means (B, T, …). Used for the old policy
    /// (current weights, before any update) and for the reference policy (adapters disabled, or a frozen copy).
    /// </summary>
    public static Either<OmniError, (Tensor LogProbs, Tensor Means)> Evaluate(Policy policy, IDenoiser denoiser, Trajectory chunk)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var steps = (int)chunk.LogProbs.shape[1];
        var logProbs = new List<Tensor>();
        var means = new List<Tensor>();
        for (var j = 0; j < steps; j++)
        {
            var result = Step(policy, denoiser, chunk, j);
            if (result.IsLeft) return result.Map(_ => default((Tensor, Tensor)));
            var s = result.IfLeft(() => null!);
            logProbs.Add(s.LogProb.to(ScalarType.Float32));
            means.Add(s.PrevSampleMean.to(ScalarType.Float32));
        }
        return Right<OmniError, (Tensor, Tensor)>((stack(logProbs, 1).MoveToOuterDisposeScope(), stack(means, 1).MoveToOuterDisposeScope()));
    }
}
