using System.Collections.Immutable;
using Omni.Algebra.Rewards;

namespace Omni.Shapes.World;

/// <summary>
/// The verifiable reward of the shapes world: detects the objects in an image (<see cref="ShapesDetector"/>) and
/// checks counts, colours, shapes and the spatial relation against the prompt, with partial credit per criterion
/// so imperfect generations still get a useful signal. Pure: no I/O, no randomness.
/// </summary>
public static class ShapesReward
{
    /// <summary>The name the reward is registered and logged under.</summary>
    public const string Name = "shapes";

    /// <summary>How far apart, as a share of the image side, the group centroids must be for a relation to hold.</summary>
    public const double PositionMargin = 0.1;

    /// <summary>
    /// Regions larger than this many pixels in an image of side <paramref name="imageSize"/> (twice the area of the
    /// objects the world draws, <see cref="ShapeLayout.ObjectSize"/> squared) are not objects: they keep their colour but
    /// match no group and no shape. Without the limit, RL learned to paint one flood per requested colour, which passes
    /// for "one object" of any shape.
    /// </summary>
    public static int MaxObjectArea(int imageSize) =>
        2 * ShapeLayout.ObjectSize(Math.Max(imageSize, ShapeLayout.MinImageSize)) * ShapeLayout.ObjectSize(Math.Max(imageSize, ShapeLayout.MinImageSize));

    /// <summary>The reward as a function: the <see cref="ShapesScore.Total"/> of each sample.</summary>
    /// <remarks>Every prompt is parsed before anything is scored; an unparseable one throws <see cref="ArgumentException"/> naming it.</remarks>
    public static RewardFunction Function { get; } = new(Name, (batch, _) =>
    {
        var prompts = batch.Prompts.Select(text => ShapesPrompt.Parse(text).Match(
            Right: p => p,
            Left: e => throw new ArgumentException($"The shapes reward cannot score the prompt \"{text}\": {e.Message}", nameof(batch)))).ToArray();
        return Task.FromResult(prompts.Select((p, i) => (float)Evaluate(p, batch.Images[i]).Total).ToArray());
    });

    /// <summary>Scores <paramref name="image"/> against <paramref name="prompt"/>.</summary>
    public static ShapesScore Evaluate(ShapesPrompt prompt, RgbImage image) =>
        Evaluate(prompt, ShapesDetector.Detect(image), Math.Max(image.Width, image.Height));

    /// <summary>Scores already detected objects of an image of side <paramref name="imageSize"/> against <paramref name="prompt"/>.</summary>
    public static ShapesScore Evaluate(ShapesPrompt prompt, ImmutableArray<DetectedShape> found, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var groups = prompt.Groups;
        var largest = MaxObjectArea(imageSize);
        var objects = found.Where(o => o.Area <= largest).ToImmutableArray();
        var members = groups.Select(g => MembersOf(g, groups, objects)).ToArray();

        var counting = groups.Select((g, i) => Math.Max(0, 1 - Math.Abs(members[i].Length - g.Count) / (double)g.Count)).Average();
        var colour = found.IsEmpty ? 0 : found.Count(o => groups.Any(g => g.Colour == o.Colour)) / (double)found.Length;
        var requested = found.Where(o => groups.Any(g => g.Colour == o.Colour)).ToArray();
        var shape = requested.Length == 0 ? 0
            : requested.Count(o => o.Area <= largest && groups.Any(g => g.Colour == o.Colour && g.Shape == o.Shape)) / (double)requested.Length;

        if (prompt.Relation is not { } relation)
            return new ShapesScore((counting + colour + shape) / 3, counting, colour, shape, null);
        var position = members.All(m => m.Length > 0) &&
                       relation.Holds(Centroid(members[0]), Centroid(members[1]), PositionMargin * imageSize)
            ? 1.0 : 0.0;
        return new ShapesScore((counting + colour + shape + position) / 4, counting, colour, shape, position);
    }

    // A group's objects are those of its colour; when both groups share a colour, shape tells them apart.
    private static DetectedShape[] MembersOf(ObjectGroup group, IReadOnlyList<ObjectGroup> groups, ImmutableArray<DetectedShape> found)
    {
        var shared = groups.Count(g => g.Colour == group.Colour) > 1;
        return found.Where(o => o.Colour == group.Colour && (!shared || o.Shape == group.Shape)).ToArray();
    }

    private static (double X, double Y) Centroid(DetectedShape[] objects) =>
        (objects.Average(o => o.CentreX), objects.Average(o => o.CentreY));
}
