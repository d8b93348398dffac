using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// The reference's pipeline helpers: each looks up the adapter registered for the configuration's
/// (architecture, algorithm) and dispatches to it, failing with the registry's error when none is registered.
/// </summary>
public static class PipelineHelpers
{
    /// <summary>The training adapter for <paramref name="config"/>.</summary>
    public static Either<OmniError, TrainingAdapter> TrainingAdapterFor(AdapterRegistries registries, DiffusionModelConfig config) =>
        registries.Training.Get(config.Key);

    /// <summary>The rollout adapter for <paramref name="config"/>, if one is registered.</summary>
    public static Option<RolloutAdapter> RolloutAdapterFor(AdapterRegistries registries, DiffusionModelConfig config) =>
        registries.Rollout.Peek(config.Key);

    /// <summary>The schedule the adapter builds for this model.</summary>
    public static Validation<OmniError, SchedulerState> BuildScheduler(AdapterRegistries registries, DiffusionModelConfig config, SchedulerConfig scheduler) =>
        TrainingAdapterFor(registries, config).ToValidation().Bind(adapter => adapter.Schedule(scheduler, config));

    /// <summary>The <c>set_timesteps</c> arguments the adapter uses for this model.</summary>
    public static Either<OmniError, TimestepRequest> SetTimesteps(AdapterRegistries registries, DiffusionModelConfig config, SchedulerConfig scheduler) =>
        TrainingAdapterFor(registries, config).Map(adapter => adapter.SetTimesteps(scheduler, config));

    /// <summary>The denoiser's arguments for one step (condition injected for image-conditioned adapters).</summary>
    public static Either<OmniError, (ModelInputs Positive, ModelInputs? Negative)> PrepareModelInputs(
        AdapterRegistries registries, IDenoiser module, DiffusionModelConfig config, ModelInputRequest request) =>
        TrainingAdapterFor(registries, config).Bind(adapter => AdapterCalls.PrepareModelInputs(adapter, module, config, request));

    /// <summary>The log-probability of a stored transition under the current model.</summary>
    public static Either<OmniError, PolicyStep> ForwardAndSamplePreviousStep(AdapterRegistries registries, StepContext context) =>
        TrainingAdapterFor(registries, context.Config).Bind(adapter => AdapterCalls.ForwardAndSamplePreviousStep(adapter, context));

    /// <summary>One prediction.</summary>
    public static Either<OmniError, Tensor> Forward(
        AdapterRegistries registries, IDenoiser module, DiffusionModelConfig config, ModelInputs positive, ModelInputs? negative = null) =>
        TrainingAdapterFor(registries, config).Bind(adapter => AdapterCalls.Forward(adapter, module, config, positive, negative));

    /// <summary>A rollout through the registered rollout adapter; an error names the key when none is registered.</summary>
    public static Either<OmniError, Trajectory> Rollout(AdapterRegistries registries, RolloutContext context) =>
        registries.Rollout.Get(context.Config.Key).Bind(adapter => adapter.Run(context));

    /// <summary>
    /// Recomputes a trained step of a stored trajectory: the micro-batch becomes the adapter's input request
    /// (trajectory latents and timesteps, prompt embeddings, extras), then the adapter scores the transition.
    /// </summary>
    public static Either<OmniError, PolicyStep> RecomputeStep(
        AdapterRegistries registries, IDenoiser module, SchedulerState schedule, DiffusionModelConfig config,
        MicroBatch microBatch, int step) =>
        from adapter in TrainingAdapterFor(registries, config)
        from request in AdapterCalls.TrajectoryRequest(microBatch, step)
        from inputs in AdapterCalls.PrepareModelInputs(adapter, module, config, request)
        from result in AdapterCalls.ForwardAndSamplePreviousStep(adapter, new StepContext(module, schedule, config, inputs.Positive, inputs.Negative, microBatch, step))
        select result;
}
