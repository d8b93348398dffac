using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using static TorchSharp.torch;

namespace Omni.Shapes.Pretraining;

/// <summary>
/// The rectified-flow (flow-matching) objective the bundled model is pretrained with:
/// <c>x_σ = (1 − σ)·x₀ + σ·ε</c>; the model predicts the clean image at timestep <c>1000·σ</c> (the SD3 transformer's
/// scale), and the loss is the mean squared error of the velocity it implies (<see cref="SamplePrediction"/>) against
/// <c>v = ε − x₀</c>. σ is logit-normal, SD3's training density.
/// </summary>
public static class RectifiedFlow
{
    /// <summary>Per-sample σ (B,) = sigmoid(m + s·n), n ~ N(0, 1) drawn from <paramref name="generator"/>.</summary>
    public static Tensor SampleSigmas(long batch, Generator generator, double mean = 0, double std = 1)
    {
        using var normal = randn([batch], ScalarType.Float32, CPU, generator: generator);
        return normal.mul((float)std).add_((float)mean).sigmoid_();
    }

    /// <summary>The noised sample <c>(1 − σ)·x₀ + σ·ε</c> for per-sample σ (B,).</summary>
    public static Tensor Noise(Tensor x0, Tensor noise, Tensor sigmas)
    {
        using var s = sigmas.view(-1, 1, 1, 1);
        return x0 * (1 - s) + noise * s;
    }

    /// <summary>
    /// The flow-matching loss of <paramref name="pipeline"/> (text encoder and denoiser, with gradients) on clean
    /// images <paramref name="x0"/> (B, 3, H, W) in [−1, 1] with prompts <paramref name="tokens"/> (B, L), given the
    /// noise and σ.
    /// </summary>
    public static Tensor Loss(ShapesPipeline pipeline, Tensor tokens, Tensor x0, Tensor noise, Tensor sigmas, PretrainingLoss kind = PretrainingLoss.CleanImage)
    {
        using var scope = NewDisposeScope();
        var (embeds, pooled) = pipeline.TextEncoder.forward(tokens);
        var noised = Noise(x0, noise, sigmas);
        var timesteps = sigmas * 1000f;
        var sample = pipeline.Transformer.forward(noised, embeds, pooled, timesteps);
        var loss = kind == PretrainingLoss.CleanImage
            ? nn.functional.mse_loss(sample, x0)
            : nn.functional.mse_loss(SamplePrediction.Velocity(noised, sample, timesteps), noise - x0);
        return loss.MoveToOuterDisposeScope();
    }
}

/// <summary>What the pretraining loss compares.</summary>
public enum PretrainingLoss
{
    /// <summary>The predicted clean image against the true one (every σ weighs the same): the bundled model's loss.</summary>
    CleanImage,
    /// <summary>The velocity the predicted clean image implies against the flow's (weighs each σ by 1/σ², clamped).</summary>
    Velocity,
}
