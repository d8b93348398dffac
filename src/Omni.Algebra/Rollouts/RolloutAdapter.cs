using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>Everything a rollout works from.</summary>
/// <param name="Module">The denoiser.</param>
/// <param name="Schedule">The schedule (the same value training recomputes with).</param>
/// <param name="Config">The model configuration.</param>
/// <param name="Request">Prompts, noise sources and the SDE window.</param>
public sealed record RolloutContext(IDenoiser Module, SchedulerState Schedule, DiffusionModelConfig Config, RolloutRequest Request)
{
    /// <summary>
    /// The denoiser as the module type <paramref name="rollout"/> shapes its latents for (it reads the channel count from
    /// its config), or an error naming the expected and the actual type: a guessed channel count would only fail later, deep
    /// inside the model.
    /// </summary>
    public Either<OmniError, T> ModuleAs<T>(string rollout) where T : class =>
        Module is T module
            ? module
            : Left<OmniError, T>(OmniError.Invalid(
                $"The {rollout} rollout shapes its latents for a {typeof(T).Name} (it reads in_channels from its config), but the module is a {Module.GetType().Name}. "
                + "Train the folder's transformer, or register a rollout adapter for this module (RolloutAdapter.FromTraining with your latent shape)."));
}

/// <summary>
/// How one (architecture, algorithm) pair samples (the role of the reference's <c>VllmOmniPipelineBase</c>
/// subclasses): a function from a <see cref="RolloutContext"/> to the <see cref="Trajectory"/> the trainer consumes.
/// </summary>
/// <param name="Name">A display name.</param>
/// <param name="Run">The rollout.</param>
public sealed record RolloutAdapter(string Name, Func<RolloutContext, Either<OmniError, Trajectory>> Run)
{
    /// <summary>
    /// The standard policy-gradient rollout for a training adapter: initial latents of
    /// <paramref name="latentShape"/>(context) from the request's initial noise, the model called through the
    /// adapter's own <see cref="TrainingAdapter.PrepareModelInputs"/> and <see cref="TrainingAdapter.Forward"/> (so
    /// rollout and training see identical arguments) and <see cref="FlowRollout"/> for the loop. The rollout does not
    /// decode: the trainer decodes the final latents once, with <see cref="TrainingAdapter.BuildDecoder"/>'s decoder.
    /// <paramref name="prepareInitial"/> turns the drawn noise into the denoised layout when the two differ (Qwen-Image
    /// draws (B, 1, C, h, w) and packs it).
    /// </summary>
    public static RolloutAdapter FromTraining(
        TrainingAdapter training, Func<RolloutContext, long[]> latentShape,
        bool recordMeans = true, Func<Tensor, Either<OmniError, Tensor>>? prepareInitial = null) =>
        FromTraining(training, context => Right<OmniError, long[]>(latentShape(context)), recordMeans, prepareInitial);

    /// <summary>
    /// <see cref="FromTraining(TrainingAdapter, Func{RolloutContext, long[]}, bool, Func{Tensor, Either{OmniError, Tensor}}?)"/>
    /// for a latent shape that can fail (for example when it depends on the module's type).
    /// </summary>
    public static RolloutAdapter FromTraining(
        TrainingAdapter training, Func<RolloutContext, Either<OmniError, long[]>> latentShape,
        bool recordMeans = true, Func<Tensor, Either<OmniError, Tensor>>? prepareInitial = null) =>
        new(training.Name + " rollout", context => latentShape(context).Bind(shape => Sample(training, context, shape, recordMeans, prepareInitial)));

    private static Either<OmniError, Trajectory> Sample(
        TrainingAdapter training, RolloutContext context, long[] latentShape,
        bool recordMeans, Func<Tensor, Either<OmniError, Tensor>>? prepareInitial)
    {
        var (module, schedule, config, request) = context;
        using var drawn = request.InitialNoise.Draw(latentShape, ScalarType.Float32, request.PromptEmbeds.device);
        // Some pipelines draw noise in one layout and denoise in another (Qwen-Image packs 2×2 patches).
        return (prepareInitial is null ? drawn.alias() : prepareInitial(drawn)).Bind(initial =>
        {
            using var _ = initial;
            var windows = request.WindowsFor(config.Sde, schedule.NumInferenceSteps);
            Either<OmniError, Tensor> Velocity(Tensor x, int step)
            {
                using var t = full(x.shape[0], schedule.Timesteps[step], ScalarType.Float32, x.device);
                var inputs = new ModelInputRequest(x, t, null, request.PromptEmbeds, request.PromptEmbedsMask,
                                                   request.NegativePromptEmbeds, request.NegativePromptEmbedsMask) { Extras = request.Extras };
                return AdapterCalls.Predict(training, module, config, inputs, step);
            }
            return FlowRollout.Run(schedule, config.Sde, windows, initial, Velocity, request.StepNoise, recordMeans).Map(steps =>
                new Trajectory(steps.Latents, steps.LogProbs, steps.Timesteps, steps.PrevSampleMeans, steps.FinalLatents,
                    request.PromptEmbeds, request.PromptEmbedsMask, request.NegativePromptEmbeds, request.NegativePromptEmbedsMask,
                    null, request.Extras));
        });
    }
}
