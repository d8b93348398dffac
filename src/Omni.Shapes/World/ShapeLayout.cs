using System.Collections.Immutable;

namespace Omni.Shapes.World;

/// <summary>
/// Where the objects of a prompt go. The image is a grid of <see cref="CellsPerSide"/> × <see cref="CellsPerSide"/>
/// cells and every object fills one cell, less a margin of background on each side, so objects in neighbouring cells
/// stay separate. Each group takes distinct random cells inside its own region, so a relation holds with a clear margin
/// (for "above", the first group lies entirely in the upper half and the second entirely in the lower half).
/// </summary>
/// <remarks>
/// Why cells: the bundled model sees the image as 4 × 4 patches, one per cell, so each patch is either background or one
/// whole object in one colour and shape, and counting, colour and position are choices among 16 tokens that attention
/// coordinates. Objects at arbitrary pixel offsets straddled several patches, and a model pretrained for 15 minutes
/// drew them as fragmented blotches (held-out shape score near chance).
/// </remarks>
public static class ShapeLayout
{
    /// <summary>The smallest image side the world supports (cells of 8 pixels, objects of 6).</summary>
    public const int MinImageSize = 32;

    /// <summary>Cells along each side of the image.</summary>
    public const int CellsPerSide = 4;

    /// <summary>The side of a cell in pixels for an image of side <paramref name="imageSize"/> (12 at 48×48).</summary>
    public static int CellSize(int imageSize) => imageSize / CellsPerSide;

    /// <summary>Background pixels on each side of an object inside its cell: a twelfth of the cell, at least one.</summary>
    public static int Margin(int imageSize) => Math.Max(1, CellSize(imageSize) / 12);

    /// <summary>The side of every object's box: its cell less the margins (10 pixels at 48×48).</summary>
    public static int ObjectSize(int imageSize) => CellSize(imageSize) - 2 * Margin(imageSize);

    /// <summary>The least background between two objects' boxes (two margins), so they stay separate components.</summary>
    public static int Gap(int imageSize) => 2 * Margin(imageSize);

    /// <summary>Where the cell grid starts: it is centred when the side is not a multiple of <see cref="CellsPerSide"/>.</summary>
    public static int GridOrigin(int imageSize) => (imageSize - CellsPerSide * CellSize(imageSize)) / 2;

    /// <summary>
    /// Lays out the objects of <paramref name="prompt"/> in a square image of side <paramref name="imageSize"/>: each
    /// group's objects in distinct cells of its region, drawn uniformly from <paramref name="rng"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is outside the world or the image is smaller than <see cref="MinImageSize"/>.</exception>
    public static ImmutableArray<PlacedObject> Place(ShapesPrompt prompt, int imageSize, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(prompt);
        prompt.Validate().IfLeft(e => throw new ArgumentException(e.Message, nameof(prompt)));
        if (imageSize < MinImageSize)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"Images are at least {MinImageSize} pixels wide.");

        var placed = ImmutableArray.CreateBuilder<PlacedObject>(prompt.ObjectCount);
        var used = new HashSet<(int, int)>();
        for (var g = 0; g < prompt.Groups.Count; g++)
        {
            var group = prompt.Groups[g];
            // The free cells of the region, in scan order; a partial Fisher–Yates shuffle picks the group's cells.
            var cells = RegionOf(prompt, g).Where(c => !used.Contains(c)).ToArray();
            for (var i = 0; i < group.Count; i++)
            {
                var j = i + rng.Next(cells.Length - i);
                (cells[i], cells[j]) = (cells[j], cells[i]);
                used.Add(cells[i]);
                placed.Add(At(g, group.Colour, group.Shape, cells[i], imageSize));
            }
        }
        return placed.MoveToImmutable();
    }

    private static PlacedObject At(int group, ShapeColour colour, ShapeKind shape, (int X, int Y) cell, int imageSize)
    {
        var (origin, side, margin) = (GridOrigin(imageSize), CellSize(imageSize), Margin(imageSize));
        return new PlacedObject(group, colour, shape, origin + cell.X * side + margin, origin + cell.Y * side + margin, ObjectSize(imageSize));
    }

    // The cells of a group's region: the whole grid, or for a relation the half towards the top or the left for the
    // group that is above or left of the other.
    private static IEnumerable<(int X, int Y)> RegionOf(ShapesPrompt prompt, int group)
    {
        var (x0, y0, width, height) = (0, 0, CellsPerSide, CellsPerSide);
        if (prompt.Relation is { } relation)
        {
            const int half = CellsPerSide / 2;
            var start = (group == 0) == (relation is Relation.Above or Relation.LeftOf) ? 0 : half;
            (x0, y0, width, height) = relation is Relation.Above or Relation.Below ? (0, start, CellsPerSide, half) : (start, 0, half, CellsPerSide);
        }
        for (var y = y0; y < y0 + height; y++)
            for (var x = x0; x < x0 + width; x++)
                yield return (x, y);
    }
}
