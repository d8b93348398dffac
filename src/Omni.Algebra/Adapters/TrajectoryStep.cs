using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// The call every policy-gradient adapter ends with: score the stored transition
/// <c>all_latents[:, step] → all_latents[:, step + 1]</c> at the stored per-sample timesteps with the configured
/// sampler and noise level.
/// </summary>
public static class TrajectoryStep
{
    /// <summary>
    /// The standard <see cref="TrainingAdapter.ForwardAndSamplePreviousStep"/>: predict through <paramref name="self"/>'s
    /// <see cref="TrainingAdapter.Forward"/> (guidance and image-conditioning rules included), then score the stored
    /// transition with <see cref="SamplePreviousStep"/>. Because it receives the adapter it belongs to, a <c>with</c> copy
    /// that replaces <see cref="TrainingAdapter.Forward"/> is scored with the replacement.
    /// </summary>
    public static Either<OmniError, PolicyStep> ForwardAndSample(TrainingAdapter self, StepContext context) =>
        from prediction in AdapterCalls.Forward(self, context.Module, context.Config, context.Positive, context.Negative)
        from step in SamplePreviousStep(context.Schedule, context.Config, context.MicroBatch, context.Step, prediction)
        select step;

    /// <summary>Scores step <paramref name="step"/> of the stored trajectory given the model's float prediction.</summary>
    public static Either<OmniError, PolicyStep> SamplePreviousStep(
        SchedulerState schedule, DiffusionModelConfig config, MicroBatch microBatch, int step, Tensor prediction) =>
        from k in microBatch.CheckStep(step)
        from result in SdeStep.Sample(schedule, config.Sde.SdeType, StepAt.Timesteps(Column(microBatch.AllTimesteps, k)),
            Column(microBatch.AllLatents, k).to(ScalarType.Float32), prediction.to(ScalarType.Float32), config.Sde.NoiseLevel,
            NextSample.PrevSample(Column(microBatch.AllLatents, k + 1).to(ScalarType.Float32)))
        select new PolicyStep(result.LogProb, result.PrevSampleMean, result.StdDevT, result.SqrtDt) { Prediction = prediction };

    // `select` is a keyword inside query expressions, so the tensor method is called from here.
    private static Tensor Column(Tensor trajectory, int step) => trajectory.select(1, step);
}
