using Omni.Algebra.Rewards;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>Imitations of a generator's imperfections, each drawing its randomness from the given generator.</summary>
internal static class ImageDistortions
{
    /// <summary>Adds independent Gaussian noise of standard deviation <paramref name="sigma"/> (in 0–255 units) to every channel.</summary>
    public static RgbImage GaussianNoise(RgbImage image, double sigma, Random rng)
    {
        var src = image.Pixels.Span;
        var dst = new byte[src.Length];
        for (var i = 0; i < dst.Length; i++)
        {
            var gauss = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            dst[i] = (byte)Math.Clamp(Math.Round(src[i] + sigma * gauss), 0, 255);
        }
        return image with { Pixels = dst };
    }

    /// <summary>A 3×3 box blur (edges clamped): soft object boundaries like an undertrained decoder's.</summary>
    public static RgbImage BoxBlur(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        var dst = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                for (var c = 0; c < 3; c++)
                {
                    var sum = 0;
                    for (var dy = -1; dy <= 1; dy++)
                        for (var dx = -1; dx <= 1; dx++)
                            sum += image.Pixels.Span[image.OffsetOf(Math.Clamp(x + dx, 0, w - 1), Math.Clamp(y + dy, 0, h - 1)) + c];
                    dst[(y * w + x) * 3 + c] = (byte)Math.Round(sum / 9.0);
                }
        return image with { Pixels = dst };
    }

    /// <summary>Every channel uniformly random.</summary>
    public static RgbImage UniformNoise(int size, Random rng)
    {
        var pixels = new byte[size * size * 3];
        rng.NextBytes(pixels);
        return new RgbImage(size, size, pixels);
    }
}
