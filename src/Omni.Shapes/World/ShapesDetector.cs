using System.Collections.Immutable;
using Omni.Algebra.Rewards;

namespace Omni.Shapes.World;

/// <summary>
/// Finds the objects in an image, GenEval-style but with plain image analysis: each pixel is classified as the
/// nearest of background and the palette colours (or as background when far from all of them), 4-connected
/// regions of one colour become objects, specks are dropped, and each object's shape is read off its silhouette.
/// Tolerant by design of a generator's noisy, blurred, slightly off-colour output.
/// </summary>
public static class ShapesDetector
{
    /// <summary>A pixel further than this (RGB Euclidean distance) from every palette colour and from black counts as background.</summary>
    public const double RejectDistance = 150;

    /// <summary>Regions smaller than this share of the image are specks, not objects (about 12 pixels at 32×32).</summary>
    public const double MinAreaShare = 0.012;

    private const int Background = -1;

    private static readonly (int Dx, int Dy)[] Neighbours = [(-1, 0), (1, 0), (0, -1), (0, 1)];

    private static readonly (ShapeKind Kind, double Fill, double Balance)[] Prototypes =
        [(ShapeKind.Square, 1.0, 1.0), (ShapeKind.Circle, 0.78, 1.0), (ShapeKind.Triangle, 0.55, 0.4)];

    /// <summary>The objects in <paramref name="image"/>, in scan order of their first pixel.</summary>
    public static ImmutableArray<DetectedShape> Detect(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width, h = image.Height;
        var classes = Classify(image);
        var seen = new bool[w * h];
        var minArea = Math.Max(3, (int)Math.Round(MinAreaShare * w * h));
        var found = ImmutableArray.CreateBuilder<DetectedShape>();
        for (var start = 0; start < w * h; start++)
        {
            if (seen[start] || classes[start] == Background) continue;
            var region = Flood(classes, seen, start, w, h);
            if (region.Count >= minArea) found.Add(Describe((ShapeColour)classes[start], region, w));
        }
        return found.ToImmutable();
    }

    /// <summary>The palette colour of an RGB value, or none for background (dark, grey, white or otherwise far from the palette).</summary>
    public static ShapeColour? ClassifyPixel(byte r, byte g, byte b)
    {
        static double Distance(byte r, byte g, byte b, (byte R, byte G, byte B) c) =>
            Math.Sqrt((r - c.R) * (r - c.R) + (g - c.G) * (g - c.G) + (b - c.B) * (b - c.B));
        var best = Distance(r, g, b, ShapeColours.Background);
        ShapeColour? colour = null;
        foreach (var c in ShapeColours.All)
        {
            var d = Distance(r, g, b, ShapeColours.Rgb(c));
            if (d < best) (best, colour) = (d, c);
        }
        return best <= RejectDistance ? colour : null;
    }

    private static int[] Classify(RgbImage image)
    {
        var px = image.Pixels.Span;
        var classes = new int[image.Width * image.Height];
        for (var i = 0; i < classes.Length; i++)
            classes[i] = ClassifyPixel(px[3 * i], px[3 * i + 1], px[3 * i + 2]) is { } c ? (int)c : Background;
        return classes;
    }

    // Iterative flood fill (an explicit stack: a large region must not overflow the call stack).
    private static List<int> Flood(int[] classes, bool[] seen, int start, int w, int h)
    {
        var region = new List<int>();
        var stack = new Stack<int>();
        stack.Push(start);
        seen[start] = true;
        while (stack.Count > 0)
        {
            var i = stack.Pop();
            region.Add(i);
            int x = i % w, y = i / w;
            foreach (var (dx, dy) in Neighbours)
            {
                int nx = x + dx, ny = y + dy;
                if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                var n = ny * w + nx;
                if (seen[n] || classes[n] != classes[start]) continue;
                seen[n] = true;
                stack.Push(n);
            }
        }
        return region;
    }

    private static DetectedShape Describe(ShapeColour colour, List<int> region, int w)
    {
        int left = int.MaxValue, top = int.MaxValue, right = int.MinValue, bottom = int.MinValue;
        double sumX = 0, sumY = 0;
        foreach (var i in region)
        {
            int x = i % w, y = i / w;
            (left, right, top, bottom) = (Math.Min(left, x), Math.Max(right, x), Math.Min(top, y), Math.Max(bottom, y));
            (sumX, sumY) = (sumX + x + 0.5, sumY + y + 0.5);
        }
        int width = right - left + 1, height = bottom - top + 1;
        // The middle row of an odd-height box counts half to each half.
        double upper = 0, lower = 0, middle = top + height / 2.0;
        foreach (var i in region)
        {
            var centre = i / w + 0.5;
            if (centre < middle) upper++;
            else if (centre > middle) lower++;
            else { upper += 0.5; lower += 0.5; }
        }
        var fill = region.Count / (double)(width * height);
        var topToBottom = lower > 0 ? upper / lower : 1;
        return new DetectedShape(colour, ShapeOf(fill, topToBottom), region.Count,
            sumX / region.Count, sumY / region.Count, fill, topToBottom);
    }

    // Nearest prototype in (fill, top-to-bottom) space; the scales make a 0.1 error in fill cost as much as 0.3 in balance.
    private static ShapeKind ShapeOf(double fill, double topToBottom)
    {
        var balance = Math.Min(topToBottom, 1.5);
        return Prototypes.MinBy(p => Math.Pow((fill - p.Fill) / 0.1, 2) + Math.Pow((balance - p.Balance) / 0.3, 2)).Kind;
    }
}
