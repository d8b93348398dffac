using static TorchSharp.torch;

namespace Omni.Shapes.Model;

/// <summary>
/// The bundled model works on images directly (no VAE): pixels in [0, 1] are scaled to [−1, 1] for the denoiser,
/// and its samples are mapped back and clamped.
/// </summary>
public static class ShapesImages
{
    /// <summary>Images (B, 3, H, W) in [0, 1] → the model's space [−1, 1].</summary>
    public static Tensor Encode(Tensor images) => images.mul(2f).sub_(1f);

    /// <summary>Model samples (B, 3, H, W) → images in [0, 1]: <c>clamp((x + 1) / 2, 0, 1)</c> in float32.</summary>
    public static Tensor Decode(Tensor samples) => samples.to(ScalarType.Float32).add(1f).div_(2f).clamp_(0f, 1f);
}
