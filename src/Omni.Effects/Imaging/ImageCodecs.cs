using Omni.Algebra.Rewards;
using SkiaSharp;

namespace Omni.Effects.Imaging;

/// <summary>
/// PNG and JPEG encoding and decoding of <see cref="RgbImage"/> through SkiaSharp (libpng, libjpeg-turbo).
/// PNG round trips are lossless. Skia has no packed 24-bit raster format, so pixels travel as opaque RGBA8888 and the
/// alpha byte is added on the way in and dropped on the way out.
/// </summary>
public static class ImageCodecs
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes <paramref name="image"/> as an 8-bit RGB PNG (lossless).</summary>
    /// <exception cref="ArgumentException">The image's pixel buffer does not hold Width·Height·3 bytes.</exception>
    public static byte[] EncodePng(RgbImage image) => Encode(image, SKEncodedImageFormat.Png, 100);

    /// <summary>
    /// Encodes <paramref name="image"/> as a baseline JPEG at <paramref name="quality"/> (1–100) with Skia's
    /// libjpeg-turbo settings (4:2:0 chroma subsampling). Sizes differ from PIL's encoder at the same quality.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quality"/> is outside 1–100.</exception>
    public static byte[] EncodeJpeg(RgbImage image, int quality)
    {
        if (quality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality must be between 1 and 100.");
        return Encode(image, SKEncodedImageFormat.Jpeg, quality);
    }

    /// <summary>Decodes a PNG file's bytes; any alpha channel is dropped (colours are taken unpremultiplied).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a PNG or cannot be decoded.</exception>
    public static RgbImage DecodePng(byte[] png)
    {
        ArgumentNullException.ThrowIfNull(png);
        if (png.Length < PngSignature.Length || !png.AsSpan(0, PngSignature.Length).SequenceEqual(PngSignature))
            throw new InvalidDataException($"Not a PNG: the {png.Length}-byte buffer does not start with the PNG signature.");
        return Decode(png);
    }

    /// <summary>Decodes any format Skia reads (PNG, JPEG, WebP, GIF, BMP); any alpha channel is dropped.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an image Skia can decode.</exception>
    public static unsafe RgbImage Decode(byte[] encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"Cannot decode the {encoded.Length}-byte buffer: not an image format Skia reads.");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        // A truncated file still yields the rows read so far; callers want the whole image or an error.
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"Cannot decode the {encoded.Length}-byte image ({info.Width}×{info.Height}): {result}.");
        var rgba = new ReadOnlySpan<byte>((void*)bitmap.GetPixels(), bitmap.ByteCount);
        var rgb = new byte[info.Width * info.Height * 3];
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
        {
            rgb[o] = rgba[i];
            rgb[o + 1] = rgba[i + 1];
            rgb[o + 2] = rgba[i + 2];
        }
        return new RgbImage(info.Width, info.Height, rgb);
    }

    /// <summary>
    /// Writes <paramref name="image"/> as a PNG at <paramref name="path"/>, creating the directory. The file appears
    /// atomically: it is written beside the target under a temporary name, then renamed over it.
    /// </summary>
    public static void SavePng(RgbImage image, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.WriteAllBytes(path, EncodePng(image));
    }

    private static unsafe byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality)
    {
        ArgumentNullException.ThrowIfNull(image);
        Validate(image);
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var rgba = new Span<byte>((void*)bitmap.GetPixels(), bitmap.ByteCount);
        var rgb = image.Pixels.Span;
        for (int i = 0, o = 0; i < rgb.Length; i += 3, o += 4)
        {
            rgba[o] = rgb[i];
            rgba[o + 1] = rgb[i + 1];
            rgba[o + 2] = rgb[i + 2];
            rgba[o + 3] = 255;
        }
        using var pixmap = bitmap.PeekPixels();
        using var encoded = pixmap.Encode(format, quality)
            ?? throw new InvalidOperationException($"Skia could not encode a {image.Width}×{image.Height} image as {format}.");
        return encoded.ToArray();
    }

    private static void Validate(RgbImage image)
    {
        if (image.Width <= 0 || image.Height <= 0)
            throw new ArgumentException($"Image size must be positive; got {image.Width}×{image.Height}.", nameof(image));
        var expected = (long)image.Width * image.Height * 3;
        if (image.Pixels.Length != expected)
            throw new ArgumentException(
                $"A {image.Width}×{image.Height} RGB image needs {expected} bytes; the buffer has {image.Pixels.Length}.", nameof(image));
    }
}
