using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// What a rollout hands the trainer: the SDE window's latents (B, W+1, …) and log-probs (B, W) in float32, the
/// timesteps (B, W), the Gaussian means (B, W, …) where an algorithm needs them (GRPO-Guard), the prompt
/// embeddings and masks, the final latents and the decoded outputs. Disposing it disposes its tensors.
/// </summary>
/// <param name="Latents">(B, W+1, …) float32: the latent entering the window, then each in-window result.</param>
/// <param name="LogProbs">(B, W) float32.</param>
/// <param name="Timesteps">(B, W) float32, values of the schedule.</param>
/// <param name="PrevSampleMeans">(B, W, …) float32, when recorded.</param>
/// <param name="FinalLatents">(B, …) float32 after the last step.</param>
/// <param name="PromptEmbeds">The prompt embeddings used.</param>
/// <param name="PromptEmbedsMask">Their mask, if any.</param>
/// <param name="NegativePromptEmbeds">Negative embeddings, if CFG was used.</param>
/// <param name="NegativePromptEmbedsMask">Their mask, if any.</param>
/// <param name="Decoded">Decoded outputs (images, video), if the adapter decodes.</param>
/// <param name="Extras">Model extras carried to training.</param>
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
    ImmutableDictionary<string, object?> Extras) : IDisposable
{
    /// <summary>
    /// The trajectory as a training micro-batch under the reference's key names (<c>all_latents</c>,
    /// <c>all_timesteps</c>, <c>old_log_probs</c>, <c>old_prev_sample_mean</c>, <c>prompt_embeds</c>, …, plus the extras).
    /// </summary>
    public ImmutableDictionary<string, object?> ToMicroBatch()
    {
        var batch = Extras
            .SetItem("all_latents", Latents)
            .SetItem("all_timesteps", Timesteps)
            .SetItem("old_log_probs", LogProbs)
            .SetItem("prompt_embeds", PromptEmbeds)
            .SetItem("prompt_embeds_mask", PromptEmbedsMask)
            .SetItem("negative_prompt_embeds", NegativePromptEmbeds)
            .SetItem("negative_prompt_embeds_mask", NegativePromptEmbedsMask);
        return PrevSampleMeans is null ? batch : batch.SetItem("old_prev_sample_mean", PrevSampleMeans);
    }

    /// <summary>Disposes the tensors the rollout created (not the prompt embeddings, which the caller passed in).</summary>
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
