using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Adapters;
using Omni.Models.Wan;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The (WanPipeline, dance_grpo) adapter on a pipeline folder assembled around the tiny Wan transformer of the golden
/// set: the reference's sigma recipe, and the training-path log-prob equal to a direct scheduler call.
/// </summary>
public sealed class WanAdapterTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("omni-wan-").FullName;

    public WanAdapterTests()
    {
        File.WriteAllText(Path.Combine(_folder, "model_index.json"), "{\"_class_name\": \"WanPipeline\"}");
        Directory.CreateDirectory(Path.Combine(_folder, "scheduler"));
        File.WriteAllText(Path.Combine(_folder, "scheduler", "scheduler_config.json"), "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 1.0}");
        var transformer = Directory.CreateDirectory(Path.Combine(_folder, "transformer")).FullName;
        foreach (var file in new[] { "config.json", "diffusion_pytorch_model.safetensors" })
            File.Copy(Path.Combine(GoldenDirectory.Path, "models", "wan_tiny", file), Path.Combine(transformer, file));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Sigmas_follow_the_reference_recipe()
    {
        var expected = new[] { 1.0, 0.978261, 0.952381, 0.921053, 0.882353, 0.833333, 0.769231, 0.681818, 0.555556, 0.357143 };
        var actual = WanDanceGrpo.Sigmas(10).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6, $"σ[{i}] = {actual[i]}, spec {expected[i]}");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(5.0)]
    public void Recomputed_log_probs_equal_a_direct_scheduler_call(double trueCfg)
    {
        using var scope = NewDisposeScope();
        var pipeline = OmniPipeline.FromFolder(_folder).WithAlgorithm("dance_grpo").WithSteps(4).WithSize(64, 64)
            .WithConfig(c => c with { Pipeline = c.Pipeline with { NumFrames = 5 } })
            .WithSde(SdeType.DanceSde, 0.7).WithGuidance(null, trueCfg).Build();
        Assert.Equal("Wan22DanceGRPO", pipeline.Training.Name);
        var model = Assert.IsType<WanTransformer3DModel>(pipeline.LoadDenoiser());
        var noise = NoiseSource.Seeded(31);
        var prompt = noise.Draw([2, 12, 16], device: TestDevice.Device);
        var mask = ones(2, 12, ScalarType.Int64, TestDevice.Device);
        mask[1, 6..] = zeros(6, ScalarType.Int64, TestDevice.Device);
        var negative = trueCfg > 1 ? noise.Draw([2, 12, 16], device: TestDevice.Device) : null;

        using var trajectory = pipeline.Rollout(model, prompt, [5, 6], promptEmbedsMask: mask, negativePromptEmbeds: negative);
        Assert.Equal(new long[] { 2, 4, 2, 8, 8 }, trajectory.Latents.select(1, 0).shape);
        var microBatch = trajectory.ToMicroBatch();
        using var noGrad = no_grad();
        for (var k = 0; k < trajectory.LogProbs.shape[1]; k++)
        {
            var latent = trajectory.Latents.select(1, k);
            var timestep = trajectory.Timesteps.select(1, k);
            var prediction = model.Run(latent, prompt * mask.unsqueeze(-1).to(ScalarType.Float32), timestep.to(ScalarType.Int64));
            if (negative is not null) prediction = Guidance.Combine(prediction, model.Run(latent, negative, timestep.to(ScalarType.Int64)), trueCfg);
            var direct = SdeStep.Sample(pipeline.Schedule, SdeType.DanceSde, StepAt.Timesteps(timestep), latent, prediction, 0.7,
                NextSample.Known(trajectory.Latents.select(1, k + 1))).OrThrow();
            var viaAdapter = pipeline.Recompute(model, microBatch, k);
            TensorAssert.Close(viaAdapter.LogProb, direct.LogProb, TensorAssert.Elementwise, $"step {k} log-prob");
            TensorAssert.Close(viaAdapter.LogProb, trajectory.LogProbs.select(1, k), TensorAssert.Reduced, $"step {k} vs rollout");
        }
    }
}
