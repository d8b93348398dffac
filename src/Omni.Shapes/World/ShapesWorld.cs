using System.Collections.Immutable;
using Omni.Algebra.Training;

namespace Omni.Shapes.World;

/// <summary>
/// The finite prompt set of the shapes world and its fixed split: a held-out set for evaluating compositional
/// generalisation that training never sees, and everything else for training.
/// </summary>
public static class ShapesWorld
{
    /// <summary>The seed of the held-out selection; changing it changes every reported held-out number.</summary>
    public const ulong HeldOutSeed = 0x5EED_0F_5A_4E5UL;

    /// <summary>Size of the held-out set.</summary>
    public const int HeldOutSize = 32;

    /// <summary>How many of the held-out prompts are single-group; the rest are relation prompts.</summary>
    public const int HeldOutSingleGroups = 4;

    /// <summary>The share of single-group prompts <see cref="SampleTraining(Random)"/> draws.</summary>
    public const double DefaultSingleGroupShare = 0.25;

    /// <summary>Every group the grammar can say: counts 1–3 × colours × shapes.</summary>
    public static ImmutableArray<ObjectGroup> AllGroups { get; } =
        [.. from count in Enumerable.Range(1, ObjectGroup.MaxCount)
            from colour in ShapeColours.All
            from shape in Enum.GetValues<ShapeKind>()
            select new ObjectGroup(count, colour, shape)];

    /// <summary>
    /// Every prompt of the world, in a fixed order: the single groups, then every relation between two groups
    /// that differ in colour or shape and ask for at most <see cref="ShapesPrompt.MaxObjects"/> objects together.
    /// </summary>
    public static ImmutableArray<ShapesPrompt> AllPrompts { get; } =
        [.. AllGroups.Select(g => new ShapesPrompt(g)),
            .. from first in AllGroups
               from relation in Relations.All
               from second in AllGroups
               let prompt = new ShapesPrompt(first, relation, second)
               where prompt.Validate().IsRight
               select prompt];

    /// <summary>
    /// The held-out prompts: <see cref="HeldOutSize"/> prompts, <see cref="HeldOutSingleGroups"/> of them single-group,
    /// drawn from <see cref="AllPrompts"/> by <see cref="HeldOutSeed"/>.
    /// </summary>
    public static ImmutableArray<ShapesPrompt> HeldOut { get; } = SelectHeldOut();

    /// <summary>Every prompt of <see cref="AllPrompts"/> that is not held out, in the same order.</summary>
    public static ImmutableArray<ShapesPrompt> Training { get; } = [.. AllPrompts.Except(HeldOut)];

    private static ImmutableArray<ShapesPrompt> TrainingSingles { get; } = [.. Training.Where(p => p.Second is null)];

    private static ImmutableArray<ShapesPrompt> TrainingRelations { get; } = [.. Training.Where(p => p.Second is not null)];

    /// <summary>A training prompt, single-group with probability <see cref="DefaultSingleGroupShare"/>.</summary>
    public static ShapesPrompt SampleTraining(Random rng) => SampleTraining(rng, DefaultSingleGroupShare);

    /// <summary>
    /// A training prompt: single-group with probability <paramref name="singleGroupShare"/>, otherwise a relation
    /// prompt, uniform within each kind. Stratified because relation prompts outnumber single groups about 90 to 1,
    /// and uniform sampling would all but never show the model a lone group to count.
    /// </summary>
    public static ShapesPrompt SampleTraining(Random rng, double singleGroupShare)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (singleGroupShare is < 0 or > 1 || double.IsNaN(singleGroupShare))
            throw new ArgumentOutOfRangeException(nameof(singleGroupShare), singleGroupShare, "A share is in [0, 1].");
        var pool = rng.NextDouble() < singleGroupShare ? TrainingSingles : TrainingRelations;
        return pool[rng.Next(pool.Length)];
    }

    // SplitMix64 rather than System.Random: Random's seeded sequence is not promised to stay the same across
    // .NET versions, and the held-out set must never move.
    private static ImmutableArray<ShapesPrompt> SelectHeldOut()
    {
        var state = HeldOutSeed;
        IEnumerable<ShapesPrompt> Pick(IEnumerable<ShapesPrompt> pool, int count) =>
            pool.Select(p => (Key: SplitMix64.Next(ref state), Prompt: p)).ToArray().OrderBy(e => e.Key).Take(count).Select(e => e.Prompt);

        var singles = Pick(AllPrompts.Where(p => p.Second is null), HeldOutSingleGroups).ToArray();
        var relations = Pick(AllPrompts.Where(p => p.Second is not null), HeldOutSize - HeldOutSingleGroups).ToArray();
        return [.. singles, .. relations];
    }
}
