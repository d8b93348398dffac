using static TorchSharp.torch;

namespace Omni.Models.QwenImage;

/// <summary>
/// Qwen-Image's 3-axis rotary embedding (<c>QwenEmbedRope</c>, θ = 10000, centred image positions): per axis
/// frequencies <c>1/θ^(2m/a)</c> in float32; image token (f, i, j) of the k-th image sits at frame k + f and at
/// row/column positions centred on zero; text token j sits at <c>max(⌊h/2⌋, ⌊w/2⌋) + j</c> on all three axes.
/// Angles are position × frequency in float32, as the reference's outer product, turned into unit complex numbers.
/// </summary>
public static class QwenRope
{
    /// <summary>Complex64 rotations (tokens, dh/2) for the image tokens of <paramref name="images"/> and <paramref name="textLength"/> text tokens.</summary>
    public static (Tensor Image, Tensor Text) Frequencies(IReadOnlyList<int> axes, IReadOnlyList<(int Frames, int Height, int Width)> images, int textLength, Device device)
    {
        using var scope = NewDisposeScope();
        var imageParts = new List<Tensor>();
        var maxIndex = 0;
        for (var k = 0; k < images.Count; k++)
        {
            var (f, h, w) = images[k];
            var frame = arange(k, k + f, ScalarType.Float32, device).view(f, 1, 1).expand(f, h, w);
            var row = Centred(h, device).view(1, h, 1).expand(f, h, w);
            var column = Centred(w, device).view(1, 1, w).expand(f, h, w);
            imageParts.Add(Rotations(axes, [frame.reshape(-1), row.reshape(-1), column.reshape(-1)]));
            maxIndex = Math.Max(maxIndex, Math.Max(h / 2, w / 2));
        }
        var text = arange(maxIndex, maxIndex + textLength, ScalarType.Float32, device);
        var textRotations = Rotations(axes, [text, text, text]);
        return (cat(imageParts, 0).MoveToOuterDisposeScope(), textRotations.MoveToOuterDisposeScope());
    }

    /// <summary>Rotates the head vectors of <paramref name="x"/> (B, S, H, dh) by <paramref name="rotations"/> (S, dh/2), in float32.</summary>
    public static Tensor Apply(Tensor x, Tensor rotations)
    {
        using var scope = NewDisposeScope();
        var pairs = view_as_complex(x.to(ScalarType.Float32).reshape([.. x.shape[..^1], -1, 2]));
        var rotated = view_as_real(pairs * rotations.unsqueeze(1)).flatten(3);
        return rotated.to(x.dtype).MoveToOuterDisposeScope();
    }

    // Rows (or columns) 0…n−1 map to −⌈n/2⌉ … ⌊n/2⌋ − 1.
    private static Tensor Centred(int n, Device device) => arange(-(n - n / 2), n / 2, ScalarType.Float32, device);

    private static Tensor Rotations(IReadOnlyList<int> axes, Tensor[] positions)
    {
        var parts = new Tensor[axes.Count];
        for (var a = 0; a < axes.Count; a++)
        {
            var exponents = arange(0, axes[a], 2, ScalarType.Float32, positions[a].device).div(axes[a]);
            var frequencies = pow(10000f, exponents).reciprocal();
            var angles = outer(positions[a], frequencies);
            parts[a] = polar(ones_like(angles), angles);
        }
        return cat(parts, 1);
    }
}
