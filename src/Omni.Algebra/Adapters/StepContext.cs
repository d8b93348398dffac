using Omni.Algebra.Config;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;

namespace Omni.Algebra.Adapters;

/// <summary>Everything <see cref="TrainingAdapter.ForwardAndSamplePreviousStep"/> works from for one trained step.</summary>
/// <param name="Module">The denoiser.</param>
/// <param name="Schedule">The schedule the rollout used.</param>
/// <param name="Config">The model configuration.</param>
/// <param name="Positive">The model arguments from <see cref="TrainingAdapter.PrepareModelInputs"/>.</param>
/// <param name="Negative">The CFG negative arguments, if any.</param>
/// <param name="MicroBatch">The recorded trajectory and its conditioning.</param>
/// <param name="Step">The trained step.</param>
public sealed record StepContext(
    IDenoiser Module,
    SchedulerState Schedule,
    DiffusionModelConfig Config,
    ModelInputs Positive,
    ModelInputs? Negative,
    MicroBatch MicroBatch,
    int Step);
