using Omni.Algebra.Rewards;
using Omni.Effects.Imaging;

namespace Omni.Tests.Behaviour.Rewards;

public sealed class ImageCodecsTests
{
    [Fact]
    public void Png_round_trip_is_lossless()
    {
        var image = TestImages.Noise(37, 23, seed: 1);
        var png = ImageCodecs.EncodePng(image);
        var back = ImageCodecs.DecodePng(png);
        Assert.Equal((37, 23), (back.Width, back.Height));
        Assert.Equal(image.Pixels.ToArray(), back.Pixels.ToArray());
        Assert.Equal(image.Pixels.ToArray(), ImageCodecs.Decode(png).Pixels.ToArray());
    }

    [Fact]
    public void Jpeg_decodes_close_to_the_original()
    {
        var image = TestImages.Flat(16, 16, 200, 100, 50);
        var back = ImageCodecs.Decode(ImageCodecs.EncodeJpeg(image, 95));
        var (r, g, b) = back[8, 8];
        Assert.InRange(r, 195, 205);
        Assert.InRange(g, 95, 105);
        Assert.InRange(b, 45, 55);
    }

    [Fact]
    public void Bad_inputs_get_precise_errors()
    {
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => ImageCodecs.DecodePng([1, 2, 3])).Message);
        Assert.Throws<InvalidDataException>(() => ImageCodecs.Decode(new byte[100]));
        var wrong = new RgbImage(4, 4, new byte[10]);
        Assert.Contains("needs 48 bytes", Assert.Throws<ArgumentException>(() => ImageCodecs.EncodePng(wrong)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageCodecs.EncodeJpeg(TestImages.Flat(2, 2, 0, 0, 0), 0));
    }

    [Fact]
    public void SavePng_creates_the_directory_and_leaves_no_temporary_file()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"omni-codecs-{Guid.NewGuid():N}");
        try
        {
            var path = Path.Combine(dir, "nested", "a.png");
            var image = TestImages.Noise(5, 7, seed: 2);
            ImageCodecs.SavePng(image, path);
            ImageCodecs.SavePng(image, path); // overwriting works too
            Assert.Equal(image.Pixels.ToArray(), ImageCodecs.DecodePng(File.ReadAllBytes(path)).Pixels.ToArray());
            Assert.Equal(["a.png"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
