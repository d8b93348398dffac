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
    /// <summary>One step recomputed on <paramref name="denoiser"/> (with or without grad, as the caller's mode says).</summary>
    public static Either<OmniError, PolicyStep> Step(Policy policy, IDenoiser denoiser, Trajectory chunk, int step) =>
        PipelineHelpers.RecomputeStep(policy.Registries, denoiser, policy.Schedule, policy.Config, chunk.ToMicroBatch(), step);

    /// <summary>
    /// A forward-only pass over the recorded steps in <paramref name="columns"/> (all when null): log-probs (B, T) and means
    /// (B, T, …), zero in columns not evaluated. Used for the old policy (current weights, before any update) and for the
    /// reference policy (adapters disabled, or a frozen copy); only the columns the update will train need it.
    /// </summary>
    public static Either<OmniError, (Tensor LogProbs, Tensor Means)> Evaluate(Policy policy, IDenoiser denoiser, Trajectory chunk,
                                                                             IReadOnlyCollection<int>? columns = null) =>
        EvaluateWithPredictions(policy, denoiser, chunk, columns, predictions: false).Map(r => (r.LogProbs, r.Means));

    /// <summary>
    /// <see cref="Evaluate"/> that also keeps the model's predictions (B, T, …) when <paramref name="predictions"/> is set (the
    /// distillation teacher's <c>teacher_noise_pred</c>); the third value is null otherwise.
    /// </summary>
    public static Either<OmniError, (Tensor LogProbs, Tensor Means, Tensor? Predictions)> EvaluateWithPredictions(
        Policy policy, IDenoiser denoiser, Trajectory chunk, IReadOnlyCollection<int>? columns, bool predictions)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var steps = (int)chunk.LogProbs.shape[1];
        var logProbs = zeros_like(chunk.LogProbs, ScalarType.Float32);
        Tensor? means = null, kept = null;
        for (var j = 0; j < steps; j++)
        {
            if (columns is not null && !columns.Contains(j)) continue;
            var result = Step(policy, denoiser, chunk, j);
            if (result.IsLeft) return result.Map(_ => default((Tensor, Tensor, Tensor?)));
            var s = result.IfLeft(() => null!);
            means ??= zeros([chunk.LogProbs.shape[0], steps, .. s.PrevSampleMean.shape.Skip(1)], ScalarType.Float32, s.PrevSampleMean.device);
            logProbs.select(1, j).copy_(s.LogProb.to(ScalarType.Float32));
            means.select(1, j).copy_(s.PrevSampleMean.to(ScalarType.Float32));
            if (predictions)
            {
                if (s.Prediction is not { } prediction)
                    return Left<OmniError, (Tensor, Tensor, Tensor?)>(new OmniError(ErrorKind.NotSupported,
                        "The adapter does not report its prediction (PolicyStep.Prediction), which distill_fm_mse needs as teacher_noise_pred."));
                kept ??= zeros([chunk.LogProbs.shape[0], steps, .. prediction.shape.Skip(1)], ScalarType.Float32, prediction.device);
                kept.select(1, j).copy_(prediction.to(ScalarType.Float32));
            }
        }
        means ??= zeros([chunk.LogProbs.shape[0], steps], ScalarType.Float32);
        return Right<OmniError, (Tensor, Tensor, Tensor?)>((logProbs.MoveToOuterDisposeScope(), means.MoveToOuterDisposeScope(), kept?.MoveToOuterDisposeScope()));
    }
}
