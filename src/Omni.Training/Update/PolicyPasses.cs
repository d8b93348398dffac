using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Training.Run;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// The forward passes over a recorded trajectory, step by step, as the reference's training path makes them: each trained
/// step re-runs the model on the stored latent at the stored per-sample timesteps and scores the stored next latent.
/// </summary>
public static class PolicyPasses
{
    /// <summary>One step recomputed on <paramref name="denoiser"/> (with or without grad, as the caller's mode says).</summary>
    public static Either<OmniError, PolicyStep> Step(Policy policy, IDenoiser denoiser, MicroBatch batch, int step) =>
        PipelineHelpers.RecomputeStep(policy.Registries, denoiser, policy.Schedule, policy.Config, batch, step);

    /// <summary>
    /// A forward-only pass over the recorded steps in <paramref name="columns"/> (all when null): log-probs (B, T) and means
    /// (B, T, …), zero in columns not evaluated. Used for the old policy (current weights, before any update) and for the
    /// reference policy (adapters disabled, or a frozen copy); only the columns the update will train need it.
    /// The first failing step's error is returned.
    /// </summary>
    public static Either<OmniError, (Tensor LogProbs, Tensor Means)> Evaluate(Policy policy, IDenoiser denoiser, MicroBatch batch,
                                                                             IReadOnlyCollection<int>? columns = null) =>
        EvaluateWithPredictions(policy, denoiser, batch, columns, predictions: false).Map(r => (r.LogProbs, r.Means));

    /// <summary>
    /// <see cref="Evaluate"/> that also keeps the model's predictions (B, T, …) when <paramref name="predictions"/> is set (the
    /// distillation teacher's <c>teacher_noise_pred</c>); the third value is null otherwise.
    /// </summary>
    public static Either<OmniError, (Tensor LogProbs, Tensor Means, Tensor? Predictions)> EvaluateWithPredictions(
        Policy policy, IDenoiser denoiser, MicroBatch batch, IReadOnlyCollection<int>? columns, bool predictions)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var latents = batch.AllLatents;
        var steps = batch.TrainedSteps;
        var logProbs = zeros([latents.shape[0], steps], ScalarType.Float32, latents.device);
        var means = zeros([latents.shape[0], steps, .. latents.shape.Skip(2)], ScalarType.Float32, latents.device);
        var kept = predictions ? zeros([latents.shape[0], steps, .. latents.shape.Skip(2)], ScalarType.Float32, latents.device) : null;
        Either<OmniError, LanguageExt.Unit> Record(int j) => Step(policy, denoiser, batch, j).Bind(s =>
        {
            logProbs.select(1, j).copy_(s.LogProb.to(ScalarType.Float32));
            means.select(1, j).copy_(s.PrevSampleMean.to(ScalarType.Float32));
            if (kept is null) return Right<OmniError, LanguageExt.Unit>(unit);
            if (s.Prediction is not { } prediction)
                return Left<OmniError, LanguageExt.Unit>(new OmniError(ErrorKind.NotSupported,
                    "The adapter does not report its prediction (PolicyStep.Prediction), which distill_fm_mse needs as teacher_noise_pred."));
            kept.select(1, j).copy_(prediction.to(ScalarType.Float32));
            return Right<OmniError, LanguageExt.Unit>(unit);
        });
        return Enumerable.Range(0, steps).Where(j => columns is null || columns.Contains(j))
            .Aggregate(Right<OmniError, LanguageExt.Unit>(unit), (done, j) => done.Bind(_ => Record(j)))
            .Map(_ => (logProbs.MoveToOuterDisposeScope(), means.MoveToOuterDisposeScope(), kept?.MoveToOuterDisposeScope()));
    }
}
