namespace Omni.Shapes.World;

/// <summary>One object of a layout: a shape drawn inside the square box of side <paramref name="Size"/> at (<paramref name="Left"/>, <paramref name="Top"/>).</summary>
/// <param name="Group">Index of the prompt group the object belongs to (0 or 1).</param>
/// <param name="Colour">Fill colour.</param>
/// <param name="Shape">Shape.</param>
/// <param name="Left">Leftmost pixel column of the box.</param>
/// <param name="Top">Topmost pixel row of the box.</param>
/// <param name="Size">Side of the box in pixels.</param>
public sealed record PlacedObject(int Group, ShapeColour Colour, ShapeKind Shape, int Left, int Top, int Size)
{
    /// <summary>Whether the boxes of this object and <paramref name="other"/> are at least <paramref name="gap"/> pixels apart along some axis.</summary>
    public bool IsApartFrom(PlacedObject other, int gap) =>
        Left + Size + gap <= other.Left || other.Left + other.Size + gap <= Left ||
        Top + Size + gap <= other.Top || other.Top + other.Size + gap <= Top;

    /// <summary>
    /// Whether pixel (x, y) is inside the shape, judged at the pixel centre so edges are crisp: a disc inscribed in the
    /// box, the box itself, or an isosceles triangle with its apex at the top middle and its base the bottom edge.
    /// </summary>
    public bool Covers(int x, int y)
    {
        double px = x + 0.5 - Left, py = y + 0.5 - Top, half = Size / 2.0;
        if (px < 0 || py < 0 || px > Size || py > Size) return false;
        return Shape switch
        {
            ShapeKind.Square => true,
            ShapeKind.Circle => (px - half) * (px - half) + (py - half) * (py - half) <= half * half,
            // Half-width grows from 0 at the apex to Size/2 at the base, plus a quarter pixel so the apex row is never empty.
            ShapeKind.Triangle => Math.Abs(px - half) <= py / 2 + 0.25,
            _ => throw new ArgumentOutOfRangeException(nameof(Shape), Shape, "Not a shape kind."),
        };
    }
}
