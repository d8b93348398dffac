using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// What <see cref="TrainingAdapter.PrepareModelInputs"/> receives. For reverse-trajectory algorithms
/// <see cref="Latents"/> is the whole trajectory (B, T+1, …), <see cref="Timesteps"/> (B, T) and
/// <see cref="Step"/> the trained step to slice; for forward-process objectives (and for rollouts) the latent is
/// already selected, (B, …), with timesteps (B,) and no step.
/// </summary>
/// <param name="Latents">The trajectory or the selected latent, float32.</param>
/// <param name="Timesteps">The trajectory's timesteps or the selected ones.</param>
/// <param name="Step">The trained step, or null when the latent is already selected.</param>
/// <param name="PromptEmbeds">Prompt embeddings (B, L, D).</param>
/// <param name="PromptEmbedsMask">Their mask (B, L), if any.</param>
/// <param name="NegativePromptEmbeds">Negative prompt embeddings for CFG, if any.</param>
/// <param name="NegativePromptEmbedsMask">Their mask, if any.</param>
public sealed record ModelInputRequest(
    Tensor Latents,
    Tensor Timesteps,
    int? Step,
    Tensor PromptEmbeds,
    Tensor? PromptEmbedsMask = null,
    Tensor? NegativePromptEmbeds = null,
    Tensor? NegativePromptEmbedsMask = null)
{
    /// <summary>Everything else the micro-batch carries: model extras such as <c>pooled_prompt_embeds</c> (empty when none).</summary>
    public ImmutableDictionary<string, Tensor> Extras { get; init; } = ImmutableDictionary<string, Tensor>.Empty;

    /// <summary>The latent the model sees at this step: <c>Latents[:, Step]</c>, or <see cref="Latents"/> when already selected.</summary>
    public Tensor CurrentLatent => Step is { } k ? Latents.select(1, k) : Latents;

    /// <summary>The timesteps at this step: <c>Timesteps[:, Step]</c>, or <see cref="Timesteps"/> when already selected.</summary>
    public Tensor CurrentTimesteps => Step is { } k ? Timesteps.select(1, k) : Timesteps;
}
