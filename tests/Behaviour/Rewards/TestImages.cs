using Omni.Algebra.Rewards;

namespace Omni.Tests.Behaviour.Rewards;

/// <summary>Small deterministic images for reward and reporting tests.</summary>
public static class TestImages
{
    public static RgbImage Flat(int width, int height, byte r, byte g, byte b)
    {
        var pixels = new byte[width * height * 3];
        for (var i = 0; i < pixels.Length; i += 3) (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        return new RgbImage(width, height, pixels);
    }

    public static RgbImage Noise(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }

    public static double MeanBrightness(RgbImage image)
    {
        var span = image.Pixels.Span;
        double sum = 0;
        foreach (var b in span) sum += b;
        return sum / span.Length / 255.0;
    }
}
