using System.Collections.Immutable;

namespace Omni.Shapes.World;

/// <summary>Where the first group of a prompt is relative to the second, in image coordinates (y grows downwards).</summary>
public enum Relation
{
    /// <summary>"above": the first group is higher in the image.</summary>
    Above,
    /// <summary>"below": the first group is lower in the image.</summary>
    Below,
    /// <summary>"left of": the first group is further left.</summary>
    LeftOf,
    /// <summary>"right of": the first group is further right.</summary>
    RightOf,
}

/// <summary>The prompt text of each <see cref="Relation"/> and the geometric test it stands for.</summary>
public static class Relations
{
    /// <summary>Every relation, in enum order.</summary>
    public static ImmutableArray<Relation> All { get; } = [.. Enum.GetValues<Relation>()];

    /// <summary>The words of <paramref name="relation"/> in a prompt: "above", "below", "left of", "right of".</summary>
    public static string Text(this Relation relation) => relation switch
    {
        Relation.Above => "above",
        Relation.Below => "below",
        Relation.LeftOf => "left of",
        Relation.RightOf => "right of",
        _ => throw new ArgumentOutOfRangeException(nameof(relation), relation, "Not a relation."),
    };

    /// <summary>
    /// Whether a point <paramref name="first"/> stands in <paramref name="relation"/> to <paramref name="second"/>
    /// by more than <paramref name="margin"/> pixels along the relation's axis.
    /// </summary>
    public static bool Holds(this Relation relation, (double X, double Y) first, (double X, double Y) second, double margin) =>
        relation switch
        {
            Relation.Above => second.Y - first.Y > margin,
            Relation.Below => first.Y - second.Y > margin,
            Relation.LeftOf => second.X - first.X > margin,
            Relation.RightOf => first.X - second.X > margin,
            _ => throw new ArgumentOutOfRangeException(nameof(relation), relation, "Not a relation."),
        };
}
