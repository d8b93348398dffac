using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Facade.Pipelines;

/// <summary>
/// A validated model configuration bound to its adapters and its schedule: what you roll out with and recompute
/// log-probabilities with. Create one with <see cref="FromFolder"/> and the <see cref="OmniPipelineBuilder"/>.
/// </summary>
public sealed class OmniPipeline
{
    internal OmniPipeline(DiffusionModelConfig config, AdapterRegistries registries, TrainingAdapter training,
                          Option<RolloutAdapter> rollout, SchedulerState schedule)
        => (Config, Registries, Training, RolloutAdapter, Schedule) = (config, registries, training, rollout, schedule);

    /// <summary>The validated configuration.</summary>
    public DiffusionModelConfig Config { get; }

    /// <summary>The registries this pipeline dispatches through (built-ins, plugins and custom registrations).</summary>
    public AdapterRegistries Registries { get; }

    /// <summary>The training adapter for the configuration's (architecture, algorithm).</summary>
    public TrainingAdapter Training { get; }

    /// <summary>The rollout adapter, when one is registered.</summary>
    public Option<RolloutAdapter> RolloutAdapter { get; }

    /// <summary>The schedule shared by rollouts and training recomputation.</summary>
    public SchedulerState Schedule { get; }

    /// <summary>Starts configuring a pipeline for a diffusers model folder.</summary>
    public static OmniPipelineBuilder FromFolder(string folder) => OmniPipelineBuilder.For(folder);

    /// <summary>
    /// Rolls out one batch with one seeded CPU generator per sample, used as the reference's request batching uses a request's
    /// generator: first the initial latents, then (with a window size) that sample's window start, then every step's noise.
    /// </summary>
    /// <param name="module">The denoiser.</param>
    /// <param name="promptEmbeds">Prompt embeddings (B, L, D).</param>
    /// <param name="seeds">One seed per sample.</param>
    /// <param name="promptEmbedsMask">Their mask, if any.</param>
    /// <param name="negativePromptEmbeds">Negative embeddings for CFG, if any.</param>
    /// <param name="negativePromptEmbedsMask">Their mask, if any.</param>
    /// <param name="extras">Model extras (e.g. <c>pooled_prompt_embeds</c>).</param>
    public Trajectory Rollout(IDenoiser module, Tensor promptEmbeds, IReadOnlyList<long> seeds,
                              Tensor? promptEmbedsMask = null, Tensor? negativePromptEmbeds = null,
                              Tensor? negativePromptEmbedsMask = null, ImmutableDictionary<string, Tensor>? extras = null)
    {
        if (seeds.Count != promptEmbeds.shape[0])
            throw new OmniException([OmniError.Invalid($"Expected one seed per sample ({promptEmbeds.shape[0]}), got {seeds.Count}.")]);
        var adapter = RolloutAdapter.IfNone(() => throw new OmniException([new OmniError(ErrorKind.NotSupported,
            $"No rollout pipeline registered for {Config.Key}. Register one with OmniPipelineBuilder.WithAdapter(…, rollout).")]));
        var generators = seeds.Select(Generators.Seeded).ToArray();
        var noise = NoiseSource.From(generators);
        var request = new RolloutRequest(promptEmbeds, noise, noise, null, promptEmbedsMask, negativePromptEmbeds, negativePromptEmbedsMask)
        {
            Extras = extras ?? ImmutableDictionary<string, Tensor>.Empty,
            ChooseWindows = (settings, steps) => SdeWindows.PerSample(settings, steps, generators),
        };
        return adapter.Run(new RolloutContext(module, Schedule, Config, request)).OrThrow();
    }

    /// <summary>
    /// Rolls out precomputed prompt embeddings (see <see cref="Omni.Effects.Prompts.PromptEmbeddings"/>): one row per
    /// seed, model extras such as <c>pooled_prompt_embeds</c> passed through by name.
    /// </summary>
    public Trajectory Rollout(IDenoiser module, Omni.Effects.Prompts.PromptEmbeddings prompts, IReadOnlyList<long> seeds) =>
        Rollout(module, prompts.PromptEmbeds, seeds, prompts.PromptEmbedsMask, prompts.NegativePromptEmbeds, prompts.NegativePromptEmbedsMask,
                prompts.Extras);

    /// <summary>
    /// The model to train: the adapter's <see cref="TrainingAdapter.BuildModule"/> if it builds one, otherwise the
    /// folder's <c>transformer/</c> loaded strictly under diffusers' parameter names (cast to <paramref name="dtype"/>).
    /// </summary>
    /// <exception cref="OmniException">The adapter builds no module and the folder's transformer cannot be loaded; the message says to give the adapter a <c>BuildModule</c>.</exception>
    public IDenoiser LoadDenoiser(ScalarType? dtype = null) =>
        Training.BuildModule(Config).Match(
            Some: module => module,
            None: () => Omni.Models.Loading.TransformerLoader.Load(Config.Path, dtype: dtype)
                .MapLeft(e => e with
                {
                    Message = e.Message + $" The adapter '{Training.Name}' for {Config.Key} has no BuildModule, so Omni tried to load the folder's "
                              + "transformer as one of the diffusers transformers it ships. For another architecture, set TrainingAdapter.BuildModule "
                              + "to build your module and load its weights (WeightLoader.Load); see docs/adding-an-adapter.md.",
                })
                .OrThrow());

    /// <summary>
    /// The decoder the adapter chooses (<see cref="TrainingAdapter.BuildDecoder"/>): the folder's VAE, the architecture's
    /// own function, or null when rewards score latents (<see cref="Decoding.None"/>).
    /// </summary>
    /// <exception cref="OmniException">The adapter asks for the folder's VAE and the folder has none Omni can load.</exception>
    public Func<Tensor, Tensor>? LoadDecoder() => Training.BuildDecoder(Config) switch
    {
        Decoding.Custom custom => custom.Decode,
        Decoding.Latents => null,
        _ => Omni.Facade.Training.FolderDecoder.For(Config.Path),
    };

    /// <summary>
    /// Recomputes the current model's log-probability of trained step <paramref name="step"/> of a stored
    /// trajectory (the training path: per-sample timesteps, stored next latents).
    /// </summary>
    public PolicyStep Recompute(IDenoiser module, Trajectory trajectory, int step) =>
        Recompute(module, trajectory.ToMicroBatch(), step);

    /// <summary>Recomputes a trained step of a micro-batch (a trajectory's, or one assembled from stored tensors).</summary>
    public PolicyStep Recompute(IDenoiser module, MicroBatch microBatch, int step) =>
        PipelineHelpers.RecomputeStep(Registries, module, Schedule, Config, microBatch, step).OrThrow();
}
