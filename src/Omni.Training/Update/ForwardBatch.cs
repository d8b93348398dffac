using System.Collections.Immutable;
using Omni.Algebra.Adapters;
using Omni.Algebra.Rollouts;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// The rows a forward-process objective trains on: each sample's clean latent (the rollout's final latent,
/// <c>latents_clean</c>) with the prompt conditioning it was sampled with. Its model calls use the adapter's
/// <c>prepare_model_inputs</c> on an already noised latent and one timestep per row.
/// </summary>
/// <param name="CleanLatents">(B, …) float32.</param>
/// <param name="PromptEmbeds">(B, L, D).</param>
/// <param name="PromptEmbedsMask">(B, L), if any.</param>
/// <param name="NegativePromptEmbeds">For CFG, if any.</param>
/// <param name="NegativePromptEmbedsMask">For CFG, if any.</param>
/// <param name="Extras">Model extras; tensors with one row per sample are gathered with the rows.</param>
public sealed record ForwardBatch(
    Tensor CleanLatents, Tensor PromptEmbeds, Tensor? PromptEmbedsMask, Tensor? NegativePromptEmbeds, Tensor? NegativePromptEmbedsMask,
    ImmutableDictionary<string, Tensor> Extras)
{
    /// <summary>The number of rows.</summary>
    public long Count => CleanLatents.shape[0];

    /// <summary>The given rows (global sample indices, chunks in order) of a step's rollouts; the tensors belong to the current scope.</summary>
    public static ForwardBatch Gather(IReadOnlyList<Trajectory> chunks, IReadOnlyList<int> rows)
    {
        using var index = tensor(rows.Select(r => (long)r).ToArray(), ScalarType.Int64, chunks[0].FinalLatents.device);
        Tensor Rows(Func<Trajectory, Tensor> pick) => cat(chunks.Select(pick).ToList(), 0).index_select(0, index);
        Tensor? Optional(Func<Trajectory, Tensor?> pick) => chunks.All(c => pick(c) is not null) ? Rows(c => pick(c)!) : null;
        var extras = chunks[0].Extras.ToImmutableDictionary(p => p.Key, p =>
            p.Value.dim() > 0 && p.Value.shape[0] == chunks[0].FinalLatents.shape[0] && chunks.All(c => c.Extras.ContainsKey(p.Key))
                ? Rows(c => c.Extras[p.Key])
                : p.Value);
        return new ForwardBatch(Rows(c => c.FinalLatents.to(ScalarType.Float32)), Rows(c => c.PromptEmbeds), Optional(c => c.PromptEmbedsMask),
                                Optional(c => c.NegativePromptEmbeds), Optional(c => c.NegativePromptEmbedsMask), extras);
    }

    /// <summary>Rows <c>[start, start + length)</c> as views (they belong to the current scope).</summary>
    public ForwardBatch Slice(long start, long length) => new(
        CleanLatents.narrow(0, start, length), PromptEmbeds.narrow(0, start, length), PromptEmbedsMask?.narrow(0, start, length),
        NegativePromptEmbeds?.narrow(0, start, length), NegativePromptEmbedsMask?.narrow(0, start, length),
        Extras.ToImmutableDictionary(p => p.Key, p => p.Value.dim() > 0 && p.Value.shape[0] == Count ? p.Value.narrow(0, start, length) : p.Value));

    /// <summary>The adapter's input request for noised latents <paramref name="latents"/> (B, …) at <paramref name="timesteps"/> (B,).</summary>
    public ModelInputRequest Request(Tensor latents, Tensor timesteps) =>
        new(latents, timesteps, null, PromptEmbeds, PromptEmbedsMask, NegativePromptEmbeds, NegativePromptEmbedsMask) { Extras = Extras };
}
