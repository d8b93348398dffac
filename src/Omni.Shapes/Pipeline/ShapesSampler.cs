using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// Samples images from a <see cref="ShapesPipeline"/> through the same rollout machinery RL training uses
/// (<see cref="ShapesAdapter.Rollout"/>): each sample's initial and step noise come from its own CPU generator
/// seeded with its seed, so a (prompt, seed) pair gives the same image in any batch.
/// </summary>
public static class ShapesSampler
{
    /// <summary>Images (B, 3, H, W) in [0, 1] for <paramref name="prompts"/>, one seed per prompt.</summary>
    /// <exception cref="OmniException">A prompt is outside the vocabulary, the counts differ, or the schedule is invalid.</exception>
    public static Tensor Sample(ShapesPipeline pipeline, IReadOnlyList<string> prompts, IReadOnlyList<long> seeds, ShapesSampling? sampling = null)
    {
        sampling ??= ShapesSampling.Default;
        if (prompts.Count != seeds.Count)
            throw new OmniException([OmniError.Invalid($"Expected one seed per prompt ({prompts.Count}), got {seeds.Count}.")]);
        if (prompts.Count == 0) throw new OmniException([OmniError.Invalid("No prompts to sample.")]);
        var config = pipeline.ModelConfig(steps: sampling.Steps, guidanceScale: sampling.GuidanceScale,
                                          sde: new SdeSettings { NoiseLevel = sampling.NoiseLevel, SdeType = sampling.SdeType });
        var schedule = ShapesAdapter.Training.Schedule(pipeline.Scheduler, config).OrThrow();
        var chunks = new List<Tensor>();
        try
        {
            using var noGrad = no_grad();
            for (var first = 0; first < prompts.Count; first += sampling.MaxBatch)
            {
                var count = Math.Min(sampling.MaxBatch, prompts.Count - first);
                using var encoded = ShapesPromptEncoding.Encode(pipeline.TextEncoder, prompts.Skip(first).Take(count).ToArray()).OrThrow();
                var noise = NoiseSource.PerSample(seeds.Skip(first).Take(count));
                var request = new RolloutRequest(encoded.PromptEmbeds, noise, noise, NegativePromptEmbeds: encoded.NegativePromptEmbeds) { Extras = encoded.Extras };
                using var trajectory = ShapesAdapter.Rollout.Run(new RolloutContext(pipeline.Transformer, schedule, config, request)).OrThrow();
                chunks.Add(Omni.Shapes.Model.ShapesImages.Decode(trajectory.FinalLatents));
            }
            return chunks.Count == 1 ? chunks[0].alias() : cat(chunks, 0);
        }
        finally
        {
            foreach (var chunk in chunks) chunk.Dispose();
        }
    }
}
