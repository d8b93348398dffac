using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Training;

/// <summary>
/// The part of a training step one rank works on under data parallelism: a contiguous run of whole prompt groups (so each
/// group's advantage statistics stay on one rank), identified by global positions so that seeds derived from the global
/// sample index make a W-rank step draw exactly the samples of the one-process step.
/// </summary>
/// <param name="Rank">The rank.</param>
/// <param name="WorldSize">The number of ranks.</param>
/// <param name="FirstPrompt">Position of this rank's first prompt among the step's prompts.</param>
/// <param name="PromptCount">Prompts this rank rolls out.</param>
/// <param name="GroupSize">Samples per prompt.</param>
/// <param name="MicroBatchSize">Samples per forward pass on this rank (the configured size, capped at the rank's samples).</param>
public sealed record RankShare(int Rank, int WorldSize, int FirstPrompt, int PromptCount, int GroupSize, int MicroBatchSize)
{
    /// <summary>Global index of this rank's first sample (prompt-major order).</summary>
    public int FirstSample => FirstPrompt * GroupSize;

    /// <summary>Samples this rank rolls out.</summary>
    public int SampleCount => PromptCount * GroupSize;

    /// <summary>Micro-batches (rollout chunks) this rank forms.</summary>
    public int MicroBatches => SampleCount / MicroBatchSize;

    /// <summary>One process doing the whole step.</summary>
    public static RankShare Whole(int promptsPerStep, int groupSize, int microBatchSize) =>
        new(0, 1, 0, promptsPerStep, groupSize, microBatchSize);

    /// <summary>
    /// Rank <paramref name="rank"/>'s share of a step of <paramref name="promptsPerStep"/> prompt groups, or every reason the
    /// world size cannot split the step so that each rank trains on an equal number of equal micro-batches (which is what
    /// keeps a W-rank update equal to the one-process update).
    /// </summary>
    public static Validation<OmniError, RankShare> Of(int promptsPerStep, int groupSize, int microBatchSize, int miniBatchesPerEpoch, int rank, int worldSize)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            return Fail<OmniError, RankShare>(OmniError.Invalid($"Rank {rank} of world size {worldSize} is not a valid place in a job."));
        if (worldSize == 1) return Success<OmniError, RankShare>(Whole(promptsPerStep, groupSize, microBatchSize));
        var errors = new List<OmniError>();
        if (promptsPerStep % worldSize != 0)
            errors.Add(OmniError.Invalid(
                $"World size {worldSize} does not divide the step's {promptsPerStep} prompt groups (PromptsPerStep): each rank rolls out whole groups. " +
                $"Use a world size that divides {promptsPerStep}, or set PromptsPerStep to a multiple of {worldSize}."));
        var prompts = Math.Max(1, promptsPerStep / worldSize);
        var samples = prompts * groupSize;
        var micro = Math.Min(microBatchSize, samples);
        if (micro > 0 && samples % micro != 0)
            errors.Add(OmniError.Invalid($"Each of the {worldSize} ranks rolls out {samples} samples, which MicroBatchSize {microBatchSize} does not divide."));
        else if (micro > 0 && samples / micro % Math.Max(1, miniBatchesPerEpoch) != 0)
            errors.Add(OmniError.Invalid($"Each rank's {samples / micro} micro-batches must split evenly into MiniBatchesPerEpoch ({miniBatchesPerEpoch}): " +
                $"each of the {worldSize} ranks rolls out {samples} samples. Set MicroBatchSize so that {samples} / MicroBatchSize is a multiple of {miniBatchesPerEpoch}, or MiniBatchesPerEpoch to a divisor of {samples / micro}."));
        return errors.Count > 0
            ? Fail<OmniError, RankShare>(Seq(errors))
            : Success<OmniError, RankShare>(new RankShare(rank, worldSize, rank * prompts, prompts, groupSize, micro));
    }
}
