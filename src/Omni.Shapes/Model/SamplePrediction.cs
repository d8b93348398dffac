using static TorchSharp.torch;

namespace Omni.Shapes.Model;

/// <summary>
/// The bundled denoiser predicts the clean image x̂₀, not the velocity: with patches of 12 × 12 × 3 = 432 values and a
/// width of 96, a token cannot carry the noise a velocity (ε − x₀) must reproduce, while a clean image of flat icons
/// fits easily (the argument of Li and He, "Back to Basics: Let Denoising Generative Models Denoise", 2025). The
/// scheduler, the SDE and the flow-matching loss still work with velocities: on the path x_σ = (1 − σ)·x₀ + σ·ε the
/// velocity is v = (x_σ − x̂₀) / σ, with σ kept at least <see cref="MinSigma"/> so the division stays bounded near the
/// clean end (the same clamp as theirs).
/// </summary>
public static class SamplePrediction
{
    /// <summary>The value <c>prediction_type</c> has in a shapes folder's <c>model_index.json</c>.</summary>
    public const string PredictionType = "sample";

    /// <summary>The least σ the conversion divides by.</summary>
    public const float MinSigma = 0.05f;

    /// <summary>
    /// The velocity (B, C, H, W) implied by the predicted clean image <paramref name="sample"/> for latents
    /// <paramref name="latents"/> at timesteps <paramref name="timesteps"/> (B,) on the 0–1000 scale (σ = t / 1000).
    /// </summary>
    public static Tensor Velocity(Tensor latents, Tensor sample, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var sigma = timesteps.to(sample.dtype).div(1000f).clamp_min(MinSigma).view(-1, 1, 1, 1);
        return latents.to(sample.dtype).sub(sample).div_(sigma).MoveToOuterDisposeScope();
    }
}
