using System.Collections.Immutable;
using Omni.Algebra.Config;
using Omni.Algebra.Schedules;

namespace Omni.Algebra.Adapters;

/// <summary>Everything <see cref="TrainingAdapter.ForwardAndSamplePreviousStep"/> works from for one trained step.</summary>
/// <param name="Module">The denoiser.</param>
/// <param name="Schedule">The schedule the rollout used.</param>
/// <param name="Config">The model configuration.</param>
/// <param name="Positive">The model arguments from <see cref="TrainingAdapter.PrepareModelInputs"/>.</param>
/// <param name="Negative">The CFG negative arguments, if any.</param>
/// <param name="MicroBatch">The micro-batch (needs <c>all_latents</c> (B, T+1, …) and <c>all_timesteps</c> (B, T)).</param>
/// <param name="Step">The trained step.</param>
public sealed record StepContext(
    IDenoiser Module,
    SchedulerState Schedule,
    DiffusionModelConfig Config,
    ModelInputs Positive,
    ModelInputs? Negative,
    ImmutableDictionary<string, object?> MicroBatch,
    int Step);
