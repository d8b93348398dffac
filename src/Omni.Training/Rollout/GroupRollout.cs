using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Training;
using Omni.Effects.Prompts;
using Omni.Effects.Random;
using Omni.Training.Run;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Training.Rollout;

/// <summary>One training step's rollouts: prompts × group size samples in micro-batch chunks.</summary>
/// <remarks>
/// Owns everything it holds: each chunk's trajectory, the prompt rows selected for that chunk (which the trajectory only
/// borrows) and the concatenated images. Disposing the batch frees them all.
/// </remarks>
/// <param name="Chunks">Trajectories, one per micro-batch of samples (sample order: prompt-major).</param>
/// <param name="ChunkPrompts">The prompt rows of each chunk, which its trajectory borrows.</param>
/// <param name="Images">Decoded images (B, 3, H, W) in [0, 1], float32, all chunks concatenated.</param>
/// <param name="Prompts">Prompt text per sample (empty strings when the embeddings carry no texts).</param>
/// <param name="GroupIds">The group (prompt uid) of each sample.</param>
/// <param name="Windows">Each sample's SDE window.</param>
public sealed record RolloutBatch(
    ImmutableArray<Trajectory> Chunks, ImmutableArray<PromptEmbeddings> ChunkPrompts, Tensor Images, ImmutableArray<string> Prompts,
    ImmutableArray<string> GroupIds, ImmutableArray<SdeWindow> Windows) : IDisposable
{
    /// <summary>The first sample's window (every sample's, unless each drew its own).</summary>
    public SdeWindow Window => Windows[0];

    /// <summary>Number of samples.</summary>
    public int Count => GroupIds.Length;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var chunk in Chunks) chunk.Dispose();
        foreach (var prompts in ChunkPrompts) prompts.Dispose();
        Images.Dispose();
    }
}

/// <summary>
/// Samples a step's groups with the policy: seeded initial noise per sample (or per group), seeded SDE noise per sample,
/// the step's SDE window or one per sample, classifier-free guidance as configured; latents and log-probs recorded in float32.
/// </summary>
public static class GroupRollout
{
    /// <summary>The prompt text of each sample, prompt-major (empty strings when the embeddings carry no texts).</summary>
    public static ImmutableArray<string> SampleTexts(PromptEmbeddings prompts, IReadOnlyList<int> promptIndices, int groupSize) =>
        [.. promptIndices.SelectMany(p => Enumerable.Repeat(prompts.Prompts.IsDefaultOrEmpty ? "" : prompts.Prompts[p], groupSize))];

    /// <summary>Runs the rollouts of training step <paramref name="step"/>; the first failing chunk's error is returned.</summary>
    /// <param name="policy">The model and its adapters.</param>
    /// <param name="rollout">The rollout adapter.</param>
    /// <param name="prompts">All training prompts (embeddings table).</param>
    /// <param name="promptIndices">This step's prompts (rows of <paramref name="prompts"/>).</param>
    /// <param name="groupSize">Samples per prompt.</param>
    /// <param name="microBatch">Samples per forward pass.</param>
    /// <param name="sameNoisePerGroup">Whether a group shares its initial noise.</param>
    /// <param name="window">The SDE window of this step (ignored when <paramref name="perSampleWindows"/> is given).</param>
    /// <param name="seeds">The run's seed streams.</param>
    /// <param name="step">The training step (part of every seed).</param>
    /// <param name="decode">Final latents → images in [0, 1]; null keeps the final latents as the chunk's outputs (no decoder).</param>
    /// <param name="onChunkDecoded">Called with (first sample, outputs) as soon as a chunk is decoded (to start its rewards early).</param>
    /// <param name="perSampleWindows">
    /// When given, each sample draws its own window from this envelope with its initial-noise generator, right after its
    /// initial noise (the reference's request batching; <see cref="SdeWindows.PerSample"/>).
    /// </param>
    public static Either<OmniError, RolloutBatch> Run(
        Policy policy, RolloutAdapter rollout, PromptEmbeddings prompts, IReadOnlyList<int> promptIndices, int groupSize, int microBatch,
        bool sameNoisePerGroup, SdeWindow window, SeedStreams seeds, int step, Func<Tensor, Tensor>? decode,
        Action<int, Tensor>? onChunkDecoded = null, Algebra.Config.SdeSettings? perSampleWindows = null)
    {
        var rows = promptIndices.SelectMany(p => Enumerable.Repeat((long)p, groupSize)).ToArray();
        var groupIds = Enumerable.Range(0, rows.Length).Select(s => $"{step}:{s / groupSize}").ToImmutableArray();
        var chunks = new List<Trajectory>();
        var chunkPrompts = new List<PromptEmbeddings>();
        var images = new List<Tensor>();
        var windows = new List<SdeWindow>();
        Either<OmniError, LanguageExt.Unit> Sample(int first)
        {
            var count = Math.Min(microBatch, rows.Length - first);
            var sampleIds = Enumerable.Range(first, count).ToArray();
            var initialGenerators = sampleIds.Select(s => Generators.Seeded(seeds.For(SeedStreams.Purpose.InitialNoise, step, sameNoisePerGroup ? s / groupSize : s))).ToArray();
            var stepSeeds = sampleIds.Select(s => seeds.For(SeedStreams.Purpose.StepNoise, step, s));
            var chunk = prompts.Select(rows[first..(first + count)]);
            chunkPrompts.Add(chunk);
            IReadOnlyList<SdeWindow> chunkWindows = Enumerable.Repeat(window, count).ToArray();
            var request = new RolloutRequest(chunk.PromptEmbeds, NoiseSource.From(initialGenerators), NoiseSource.PerSample(stepSeeds),
                perSampleWindows is null ? window : null, chunk.PromptEmbedsMask, chunk.NegativePromptEmbeds, chunk.NegativePromptEmbedsMask)
            {
                Extras = chunk.Extras,
                ChooseWindows = perSampleWindows is { } envelope
                    ? (_, steps) => chunkWindows = SdeWindows.PerSample(envelope, steps, initialGenerators)
                    : null,
            };
            var sampled = rollout.Run(new RolloutContext(policy.Denoiser, policy.Schedule, policy.Config, request));
            foreach (var g in initialGenerators) g.Dispose();
            return sampled.Map(trajectory =>
            {
                chunks.Add(trajectory);
                windows.AddRange(chunkWindows);
                using var scope = NewDisposeScope();
                var decoded = (decode is null ? trajectory.FinalLatents.alias() : decode(trajectory.FinalLatents)).to(ScalarType.Float32).MoveToOuterDisposeScope();
                images.Add(decoded);
                onChunkDecoded?.Invoke(first, decoded);
                return unit;
            });
        }
        void DisposeAll()
        {
            foreach (var c in chunks) c.Dispose();
            foreach (var p in chunkPrompts) p.Dispose();
            foreach (var i in images) i.Dispose();
        }
        try
        {
            using var noGrad = no_grad();
            policy.Module.eval();
            var sampled = Enumerable.Range(0, (rows.Length + microBatch - 1) / microBatch)
                .Aggregate(Right<OmniError, LanguageExt.Unit>(unit), (done, chunk) => done.Bind(_ => Sample(chunk * microBatch)));
            return sampled.Match(
                Right: _ =>
                {
                    var all = cat(images, 0);
                    foreach (var image in images) image.Dispose();
                    return Right<OmniError, RolloutBatch>(new RolloutBatch(
                        [.. chunks], [.. chunkPrompts], all, SampleTexts(prompts, promptIndices, groupSize), groupIds, [.. windows]));
                },
                Left: error =>
                {
                    DisposeAll();
                    return Left<OmniError, RolloutBatch>(error);
                });
        }
        catch
        {
            DisposeAll();
            throw;
        }
    }
}
