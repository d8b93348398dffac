using static TorchSharp.torch;

namespace Omni.Algebra.Rewards;

/// <summary>
/// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B): what reward functions see.
/// The reference hands its scorers uint8 images made by ×255, round, clamp; <see cref="FromTensor"/> does the same.
/// </summary>
/// <param name="Width">Width in pixels (&gt; 0).</param>
/// <param name="Height">Height in pixels (&gt; 0).</param>
/// <param name="Pixels">Width·Height·3 bytes, HWC order.</param>
public sealed record RgbImage(int Width, int Height, ReadOnlyMemory<byte> Pixels)
{
    /// <summary>The byte offset of pixel (x, y).</summary>
    public int OffsetOf(int x, int y) => (y * Width + x) * 3;

    /// <summary>The colour of pixel (x, y).</summary>
    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            var span = Pixels.Span;
            var o = OffsetOf(x, y);
            return (span[o], span[o + 1], span[o + 2]);
        }
    }

    /// <summary>
    /// Converts a (B, 3, H, W) float tensor with values in [0, 1] to images: ×255, round half to even, clamp to [0, 255].
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not (B, 3, H, W).</exception>
    public static IReadOnlyList<RgbImage> FromTensor(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Images must be (B, 3, H, W); got ({string.Join(", ", images.shape)}).", nameof(images));
        using var scope = NewDisposeScope();
        // Quantised where the images are, so only bytes cross to the host (one read for the whole batch).
        using var bytes = images.detach().to(ScalarType.Float32).mul(255f).round().clamp(0, 255)
            .to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous().to(CPU);
        var all = bytes.data<byte>().ToArray();
        int b = (int)images.shape[0], h = (int)images.shape[2], w = (int)images.shape[3], size = h * w * 3;
        return Enumerable.Range(0, b).Select(i => new RgbImage(w, h, all.AsMemory(i * size, size))).ToArray();
    }

    /// <summary>Converts images of one size back to a (B, 3, H, W) float32 tensor in [0, 1] on the CPU.</summary>
    public static Tensor ToTensor(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0) throw new ArgumentException("No images to convert.", nameof(images));
        int w = images[0].Width, h = images[0].Height;
        if (images.Any(i => i.Width != w || i.Height != h))
            throw new ArgumentException("All images must have the same size.", nameof(images));
        var all = new byte[images.Count * w * h * 3];
        for (var i = 0; i < images.Count; i++) images[i].Pixels.Span.CopyTo(all.AsSpan(i * w * h * 3));
        using var bytes = tensor(all, ScalarType.Byte).reshape(images.Count, h, w, 3);
        return bytes.permute(0, 3, 1, 2).to(ScalarType.Float32).div_(255f).contiguous();
    }
}
