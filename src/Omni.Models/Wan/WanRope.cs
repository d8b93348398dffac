using static TorchSharp.torch;

namespace Omni.Models.Wan;

/// <summary>
/// Wan's 3-D rotary embedding: the head dim splits into (t, h, w) parts (h = w = 2·⌊dh/6⌋); per part, angles
/// <c>position·θ^(−2m/d)</c> in float64 with cos and sin repeated pairwise, then cast to float32; tokens take the
/// frame, row and column of their patch.
/// </summary>
public static class WanRope
{
    /// <summary>(cos, sin), each (1, F·H·W, 1, dh), for a patch grid of <paramref name="frames"/>×<paramref name="height"/>×<paramref name="width"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Frequencies(int headDim, int maxSeqLen, long frames, long height, long width, Device device)
    {
        using var scope = NewDisposeScope();
        var hw = 2 * (headDim / 6);
        var dims = new[] { headDim - 2 * hw, hw, hw };
        var counts = new[] { frames, height, width };
        var cosParts = new Tensor[3];
        var sinParts = new Tensor[3];
        for (var a = 0; a < 3; a++)
        {
            var d = dims[a];
            var frequencies = 1.0 / pow(10000.0, arange(0, d, 2, ScalarType.Float64).narrow(0, 0, d / 2) / d);
            var angles = outer(arange(0, maxSeqLen, ScalarType.Float64), frequencies).narrow(0, 0, counts[a]);
            cosParts[a] = angles.cos().repeat_interleave(2, 1).to(ScalarType.Float32);
            sinParts[a] = angles.sin().repeat_interleave(2, 1).to(ScalarType.Float32);
        }
        Tensor Grid(Tensor[] parts) => cat([
            parts[0].view(frames, 1, 1, -1).expand(frames, height, width, -1),
            parts[1].view(1, height, 1, -1).expand(frames, height, width, -1),
            parts[2].view(1, 1, width, -1).expand(frames, height, width, -1)], -1).reshape(1, frames * height * width, 1, -1).to(device);
        return (Grid(cosParts).MoveToOuterDisposeScope(), Grid(sinParts).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates pairs (x₁, x₂) of <paramref name="x"/> (B, S, H, dh) by the tables.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var pairs = x.unflatten(x.dim() - 1, [half, 2]);
        var (x1, x2) = (pairs.select(-1, 0), pairs.select(-1, 1));
        var c = cos.unflatten(cos.dim() - 1, [half, 2]).select(-1, 0);
        var s = sin.unflatten(sin.dim() - 1, [half, 2]).select(-1, 1);
        var rotated = stack([x1 * c - x2 * s, x1 * s + x2 * c], -1).flatten(-2);
        return rotated.to(x.dtype).MoveToOuterDisposeScope();
    }
}
