using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// What a rollout hands the trainer: the SDE window's latents (B, W+1, …) and log-probs (B, W) in float32, the
/// timesteps (B, W), the Gaussian means (B, W, …) where an algorithm needs them (GRPO-Guard), the prompt
/// conditioning it sampled with, the final latents and the decoded outputs.
/// </summary>
/// <remarks>
/// Ownership: the trajectory owns what the rollout created (latents, log-probs, timesteps, means, final latents, decoded
/// outputs) and disposes them. The prompt conditioning (embeddings, masks, extras) came in with the request and is only
/// borrowed: whoever made it disposes it, after the trajectory is done with.
/// </remarks>
/// <param name="Latents">(B, W+1, …) float32: the latent entering the window, then each in-window result.</param>
/// <param name="LogProbs">(B, W) float32.</param>
/// <param name="Timesteps">(B, W) float32, values of the schedule.</param>
/// <param name="PrevSampleMeans">(B, W, …) float32, when recorded.</param>
/// <param name="FinalLatents">(B, …) float32 after the last step.</param>
/// <param name="PromptEmbeds">The prompt embeddings used (borrowed).</param>
/// <param name="PromptEmbedsMask">Their mask, if any (borrowed).</param>
/// <param name="NegativePromptEmbeds">Negative embeddings, if CFG was used (borrowed).</param>
/// <param name="NegativePromptEmbedsMask">Their mask, if any (borrowed).</param>
/// <param name="Decoded">Decoded outputs (images, video) of a custom rollout that decodes while sampling; <c>RolloutAdapter.FromTraining</c> leaves it null (the trainer decodes with <c>TrainingAdapter.BuildDecoder</c>).</param>
/// <param name="Extras">Model extras carried to training (borrowed).</param>
public sealed record Trajectory(
    Tensor Latents,
    Tensor LogProbs,
    Tensor Timesteps,
    Tensor? PrevSampleMeans,
    Tensor FinalLatents,
    Tensor PromptEmbeds,
    Tensor? PromptEmbedsMask,
    Tensor? NegativePromptEmbeds,
    Tensor? NegativePromptEmbedsMask,
    Tensor? Decoded,
    ImmutableDictionary<string, Tensor> Extras) : IDisposable
{
    /// <summary>The trajectory as the training path reads it (a view: disposing the trajectory invalidates it).</summary>
    public MicroBatch ToMicroBatch() => new()
    {
        AllLatents = Latents, AllTimesteps = Timesteps, PromptEmbeds = PromptEmbeds, PromptEmbedsMask = PromptEmbedsMask,
        NegativePromptEmbeds = NegativePromptEmbeds, NegativePromptEmbedsMask = NegativePromptEmbedsMask, Extras = Extras,
    };

    /// <summary>Disposes the tensors the rollout created (not the borrowed prompt conditioning).</summary>
    public void Dispose()
    {
        Latents.Dispose();
        LogProbs.Dispose();
        Timesteps.Dispose();
        PrevSampleMeans?.Dispose();
        FinalLatents.Dispose();
        Decoded?.Dispose();
    }
}
