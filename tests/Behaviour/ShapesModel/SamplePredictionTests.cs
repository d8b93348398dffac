using Omni.Effects.Random;
using Omni.Shapes.Model;
using Omni.Shapes.Pretraining;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.ShapesModel;

/// <summary>The clean-image parameterisation: the velocity it implies is the flow's own when the prediction is right.</summary>
public sealed class SamplePredictionTests
{
    [Fact]
    public void A_right_clean_image_gives_the_true_velocity_and_an_euler_step_to_zero_lands_on_it()
    {
        using var scope = NewDisposeScope();
        using var generator = Generators.Seeded(3);
        var x0 = rand([4, 3, 8, 8], generator: generator).mul_(2).sub_(1);
        var noise = randn([4, 3, 8, 8], generator: generator);
        var sigmas = tensor(new[] { 1f, 0.6f, 0.2f, 0.05f });
        var noised = RectifiedFlow.Noise(x0, noise, sigmas);
        var velocity = SamplePrediction.Velocity(noised, x0, sigmas * 1000f);
        Assert.True(velocity.allclose(noise - x0, rtol: 1e-4, atol: 1e-4));
        var landed = noised - sigmas.view(-1, 1, 1, 1) * velocity;   // Euler from σ to 0
        Assert.True(landed.allclose(x0, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Sigma_is_clamped_so_the_velocity_stays_bounded_near_the_clean_end()
    {
        using var scope = NewDisposeScope();
        var latents = ones(1, 3, 2, 2);
        var velocity = SamplePrediction.Velocity(latents, zeros(1, 3, 2, 2), tensor(new[] { 0.001f }));   // σ = 1e-6
        Assert.Equal(1 / SamplePrediction.MinSigma, velocity.max().item<float>(), 3);
    }
}
