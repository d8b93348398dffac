using System.Collections.Immutable;
using Omni.Algebra.Rewards;

namespace Omni.Shapes.World;

/// <summary>
/// Draws prompts of the shapes world: filled shapes in their palette colour on a black background, crisp pixels
/// (no anti-aliasing), laid out by <see cref="ShapeLayout"/>. The pretraining data of the bundled tiny model.
/// </summary>
public static class ShapesRenderer
{
    /// <summary>The image side the bundled model uses.</summary>
    public const int DefaultSize = 40;

    /// <summary>A square image of side <paramref name="size"/> showing <paramref name="prompt"/>, the layout drawn from <paramref name="rng"/>.</summary>
    /// <exception cref="ArgumentException">The prompt is outside the world or the size is below <see cref="ShapeLayout.MinImageSize"/>.</exception>
    public static RgbImage Render(ShapesPrompt prompt, int size, Random rng) =>
        Draw(ShapeLayout.Place(prompt, size, rng), size);

    /// <summary>A square image of side <paramref name="size"/> with <paramref name="objects"/> drawn in order.</summary>
    public static RgbImage Draw(ImmutableArray<PlacedObject> objects, int size)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "An image has a positive size.");
        var pixels = new byte[size * size * 3];   // all zero: the black background
        foreach (var o in objects)
        {
            var (r, g, b) = ShapeColours.Rgb(o.Colour);
            for (var y = Math.Max(0, o.Top); y < Math.Min(size, o.Top + o.Size); y++)
                for (var x = Math.Max(0, o.Left); x < Math.Min(size, o.Left + o.Size); x++)
                {
                    if (!o.Covers(x, y)) continue;
                    var at = (y * size + x) * 3;
                    pixels[at] = r;
                    pixels[at + 1] = g;
                    pixels[at + 2] = b;
                }
        }
        return new RgbImage(size, size, pixels);
    }
}
