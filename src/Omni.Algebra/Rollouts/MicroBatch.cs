using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// What the training path re-runs the model on for one micro-batch: the recorded trajectory (latents (B, T+1, …) and
/// timesteps (B, T), float32), the prompt conditioning, and model extras under the reference's names
/// (<c>pooled_prompt_embeds</c>, an image-to-image condition, …). The reference passes a dictionary; here the fields every
/// adapter reads are typed and only the architecture-specific extras are looked up by name.
/// </summary>
/// <remarks>
/// A micro-batch borrows its tensors: it is a view of a <see cref="Trajectory"/> (or of data the caller holds) and disposes
/// nothing. Objectives that train on other data (clean latents, forward-noised latents, teacher predictions) add their own
/// fields beside these rather than hiding them in <see cref="Extras"/>.
/// </remarks>
public sealed record MicroBatch
{
    /// <summary>(B, T+1, …) float32: the latent entering each trained step, then the one it led to.</summary>
    public required Tensor AllLatents { get; init; }

    /// <summary>(B, T) float32: the schedule's timestep of each trained step.</summary>
    public required Tensor AllTimesteps { get; init; }

    /// <summary>Prompt embeddings (B, L, D).</summary>
    public required Tensor PromptEmbeds { get; init; }

    /// <summary>Their mask (B, L), if any.</summary>
    public Tensor? PromptEmbedsMask { get; init; }

    /// <summary>Negative prompt embeddings for classifier-free guidance, if any.</summary>
    public Tensor? NegativePromptEmbeds { get; init; }

    /// <summary>Their mask, if any.</summary>
    public Tensor? NegativePromptEmbedsMask { get; init; }

    /// <summary>Model extras by the reference's names (empty when none).</summary>
    public ImmutableDictionary<string, Tensor> Extras { get; init; } = ImmutableDictionary<string, Tensor>.Empty;

    /// <summary>The number of trained steps T.</summary>
    public int TrainedSteps => (int)AllTimesteps.shape[1];

    /// <summary>Every name this micro-batch answers to, as the reference would list its keys (for error messages).</summary>
    public IEnumerable<string> Keys
    {
        get
        {
            var typed = new (string Name, Tensor? Value)[]
            {
                ("all_latents", AllLatents), ("all_timesteps", AllTimesteps), ("prompt_embeds", PromptEmbeds),
                ("prompt_embeds_mask", PromptEmbedsMask), ("negative_prompt_embeds", NegativePromptEmbeds),
                ("negative_prompt_embeds_mask", NegativePromptEmbedsMask),
            };
            return typed.Where(t => t.Value is not null).Select(t => t.Name).Concat(Extras.Keys).Order(StringComparer.Ordinal);
        }
    }

    /// <summary>The extra <paramref name="key"/>, or an error naming <paramref name="who"/> and listing what the micro-batch carries.</summary>
    public Either<OmniError, Tensor> Extra(string key, string who) =>
        Extras.TryGetValue(key, out var value)
            ? Right<OmniError, Tensor>(value)
            : Left<OmniError, Tensor>(new OmniError(ErrorKind.NotFound,
                $"{who} needs '{key}' in the micro-batch. Available micro-batch keys: [{string.Join(", ", Keys)}]."));

    /// <summary>Checks that <paramref name="step"/> is a trained step of this micro-batch's trajectory.</summary>
    public Either<OmniError, int> CheckStep(int step) =>
        step >= 0 && step < TrainedSteps && AllLatents.shape[1] == TrainedSteps + 1
            ? Right<OmniError, int>(step)
            : Left<OmniError, int>(new OmniError(ErrorKind.InvalidShape,
                $"Step {step} does not fit a trajectory of {AllLatents.shape[1]} latents and {TrainedSteps} timesteps (expected T + 1 latents for T timesteps)."));
}
