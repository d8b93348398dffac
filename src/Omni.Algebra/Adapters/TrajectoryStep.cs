using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// The call every policy-gradient adapter ends with: score the stored transition
/// <c>all_latents[:, step] → all_latents[:, step + 1]</c> at the stored per-sample timesteps with the configured
/// sampler and noise level.
/// </summary>
public static class TrajectoryStep
{
    /// <summary>Micro-batch key of the trajectory latents (B, T+1, …).</summary>
    public const string AllLatents = "all_latents";

    /// <summary>Micro-batch key of the trajectory timesteps (B, T).</summary>
    public const string AllTimesteps = "all_timesteps";

    /// <summary>Scores step <paramref name="step"/> of the stored trajectory given the model's float prediction.</summary>
    public static Either<OmniError, PolicyStep> SamplePreviousStep(
        SchedulerState schedule, DiffusionModelConfig config, ImmutableDictionary<string, object?> microBatch, int step, Tensor prediction) =>
        from latents in Required(microBatch, AllLatents)
        from timesteps in Required(microBatch, AllTimesteps)
        from _ in CheckStep(latents, timesteps, step)
        from result in SdeStep.Sample(schedule, config.Sde.SdeType, StepAt.Timesteps(Column(timesteps, step)),
            Column(latents, step).to(ScalarType.Float32), prediction.to(ScalarType.Float32), config.Sde.NoiseLevel,
            NextSample.Known(Column(latents, step + 1).to(ScalarType.Float32)))
        select new PolicyStep(result.LogProb, result.PrevSampleMean, result.StdDevT, result.SqrtDt) { Prediction = prediction };

    // `select` is a keyword inside query expressions, so the tensor method is called from here.
    private static Tensor Column(Tensor trajectory, int step) => trajectory.select(1, step);

    private static Either<OmniError, LanguageExt.Unit> CheckStep(Tensor latents, Tensor timesteps, int step)
    {
        var trainedSteps = timesteps.shape[1];
        if (step >= 0 && step < trainedSteps && latents.shape[1] == trainedSteps + 1) return unit;
        return Left<OmniError, LanguageExt.Unit>(new OmniError(ErrorKind.InvalidShape,
            $"Step {step} does not fit a trajectory of {latents.shape[1]} latents and {trainedSteps} timesteps (expected T + 1 latents for T timesteps)."));
    }

    /// <summary>A tensor the micro-batch must carry; the error lists what it does carry.</summary>
    public static Either<OmniError, Tensor> Required(ImmutableDictionary<string, object?> microBatch, string key) =>
        microBatch.TryGetValue(key, out var value) && value is Tensor t
            ? Right<OmniError, Tensor>(t)
            : Left<OmniError, Tensor>(new OmniError(ErrorKind.NotFound,
                $"The micro-batch has no tensor '{key}'. Available micro-batch keys: [{string.Join(", ", microBatch.Keys.Order())}]."));
}
