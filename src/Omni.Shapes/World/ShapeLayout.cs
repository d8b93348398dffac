using System.Collections.Immutable;

namespace Omni.Shapes.World;

/// <summary>
/// Where the objects of a prompt go: random sizes and positions with no overlaps, each group inside its own
/// region so the relation holds with a clear margin (for "above", the first group lies entirely in the upper
/// half and the second entirely in the lower half).
/// </summary>
public static class ShapeLayout
{
    /// <summary>The smallest image side the world supports.</summary>
    public const int MinImageSize = 24;

    private const int Restarts = 64;
    private const int TriesPerObject = 32;

    /// <summary>Smallest object side for an image of side <paramref name="imageSize"/>: a fifth of it, rounded up.</summary>
    public static int MinObjectSize(int imageSize) => (imageSize + 4) / 5;

    /// <summary>Largest object side for an image of side <paramref name="imageSize"/>: a quarter of it.</summary>
    public static int MaxObjectSize(int imageSize) => Math.Max(MinObjectSize(imageSize), imageSize / 4);

    /// <summary>Background pixels kept between two objects' boxes, so they stay separate components even when blurred.</summary>
    public static int Gap(int imageSize) => Math.Max(2, imageSize / 16);

    /// <summary>
    /// Lays out the objects of <paramref name="prompt"/> in a square image of side <paramref name="imageSize"/>
    /// by rejection sampling from <paramref name="rng"/>; after a bounded number of failed attempts it falls back to
    /// an evenly spaced, deterministic arrangement, which always fits.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is outside the world or the image is smaller than <see cref="MinImageSize"/>.</exception>
    public static ImmutableArray<PlacedObject> Place(ShapesPrompt prompt, int imageSize, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Check(prompt, imageSize);

        var requests = prompt.Groups
            .SelectMany((g, i) => Enumerable.Repeat((Group: i, g.Colour, g.Shape, Region: RegionOf(prompt, i, imageSize)), g.Count))
            .ToArray();
        for (var attempt = 0; attempt < Restarts; attempt++)
            if (TryPlace(requests, imageSize, rng) is { } placed) return placed;
        return Fallback(prompt, imageSize);
    }

    /// <summary>
    /// The deterministic layout <see cref="Place"/> falls back on: smallest objects, equally spaced along the longer
    /// side of each group's region and centred across it.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is outside the world or the image is smaller than <see cref="MinImageSize"/>.</exception>
    public static ImmutableArray<PlacedObject> Fallback(ShapesPrompt prompt, int imageSize)
    {
        Check(prompt, imageSize);
        return [.. prompt.Groups.SelectMany((g, i) => Evenly(g, i, RegionOf(prompt, i, imageSize), imageSize))];
    }

    private static void Check(ShapesPrompt prompt, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        prompt.Validate().IfLeft(e => throw new ArgumentException(e.Message, nameof(prompt)));
        if (imageSize < MinImageSize)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"Images are at least {MinImageSize} pixels wide.");
    }

    private static ImmutableArray<PlacedObject>? TryPlace(
        (int Group, ShapeColour Colour, ShapeKind Shape, Region Region)[] requests, int imageSize, Random rng)
    {
        var placed = ImmutableArray.CreateBuilder<PlacedObject>(requests.Length);
        foreach (var (group, colour, shape, region) in requests)
        {
            PlacedObject? found = null;
            for (var t = 0; t < TriesPerObject && found is null; t++)
            {
                var size = rng.Next(MinObjectSize(imageSize), MaxObjectSize(imageSize) + 1);
                if (size > region.Width || size > region.Height) continue;
                var candidate = new PlacedObject(group, colour, shape,
                    region.Left + rng.Next(region.Width - size + 1), region.Top + rng.Next(region.Height - size + 1), size);
                if (placed.All(p => p.IsApartFrom(candidate, Gap(imageSize)))) found = candidate;
            }
            if (found is null) return null;
            placed.Add(found);
        }
        return placed.MoveToImmutable();
    }

    private static IEnumerable<PlacedObject> Evenly(ObjectGroup group, int index, Region region, int imageSize)
    {
        var size = MinObjectSize(imageSize);
        var horizontal = region.Width >= region.Height;
        var length = horizontal ? region.Width : region.Height;
        for (var i = 0; i < group.Count; i++)
        {
            // End to end rather than with outer margins: the widest spacing, so even 24-pixel images keep the gap.
            var along = group.Count == 1 ? (length - size) / 2 : i * (length - size) / (group.Count - 1);
            var across = ((horizontal ? region.Height : region.Width) - size) / 2;
            yield return new PlacedObject(index, group.Colour, group.Shape,
                region.Left + (horizontal ? along : across), region.Top + (horizontal ? across : along), size);
        }
    }

    private readonly record struct Region(int Left, int Top, int Width, int Height);

    // A one-pixel border everywhere; for a relation the image is split at the middle, half a gap on each side.
    private static Region RegionOf(ShapesPrompt prompt, int group, int imageSize)
    {
        const int border = 1;
        var whole = new Region(border, border, imageSize - 2 * border, imageSize - 2 * border);
        if (prompt.Relation is not { } relation) return whole;
        var half = imageSize / 2;
        var halfGap = (Gap(imageSize) + 1) / 2;
        (int Start, int Length) near = (border, half - halfGap - border);      // towards the top or the left
        (int Start, int Length) far = (half + halfGap, imageSize - border - (half + halfGap));
        var firstIsNear = relation is Relation.Above or Relation.LeftOf;
        var band = (group == 0) == firstIsNear ? near : far;
        return relation is Relation.Above or Relation.Below
            ? whole with { Top = band.Start, Height = band.Length }
            : whole with { Left = band.Start, Width = band.Length };
    }
}
