using System.Text.RegularExpressions;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Adapters;
using Omni.Models.QwenImage;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The (QwenImagePipeline, flow_grpo / mix_grpo) adapters on the tiny Qwen-Image pipeline folder: the schedule recipe
/// reproduces the reference's Qwen schedules, and the training-path log-prob equals a direct scheduler call.
/// </summary>
public sealed class QwenImageAdapterTests
{
    private static string Folder => Path.Combine(GoldenDirectory.Path, "pipelines", "qwenimage_tiny_pipe");

    public static TheoryData<string> QwenScheduleCases =>
        GoldenSuite.Load("schedules").Ids(c => Regex.IsMatch(c.GetProperty("id").GetString()!, @"^qwen_\d+_\d+x\d+$"));

    [Theory, MemberData(nameof(QwenScheduleCases))]
    public void The_schedule_recipe_reproduces_the_reference_qwen_schedules(string id)
    {
        var c = GoldenSuite.Load("schedules").Case(id);
        var m = Regex.Match(id, @"^qwen_(\d+)_(\d+)x(\d+)$");
        var config = new DiffusionModelConfig
        {
            Path = Folder, Architecture = "QwenImagePipeline",
            Pipeline = new PipelineSettings { NumInferenceSteps = int.Parse(m.Groups[1].Value), Height = int.Parse(m.Groups[2].Value), Width = int.Parse(m.Groups[3].Value) },
        };
        var state = QwenImageFlowGrpo.Training.Schedule(ManifestReading.Config(c), config).OrThrow();
        using var scope = NewDisposeScope();
        TensorAssert.Identical(state.SigmasTensor(), GoldenSuite.Load("schedules").Tensor(c, "outputs", "sigmas"), id);
    }

    [Theory]
    [InlineData("flow_grpo", 1.0)]
    [InlineData("flow_grpo", 4.0)]
    [InlineData("mix_grpo", 1.0)]
    public void Recomputed_log_probs_equal_a_direct_scheduler_call(string algorithm, double trueCfg)
    {
        using var scope = NewDisposeScope();
        var builder = OmniPipeline.FromFolder(Folder).WithAlgorithm(algorithm).WithSteps(4).WithSize(64, 64)
            .WithSde(SdeType.Sde, 0.7).WithGuidance(null, trueCfg);
        if (algorithm == "mix_grpo") builder = builder.WithSdeWindow(2, (0, 3));
        var pipeline = builder.Build();
        var model = Assert.IsType<QwenImageTransformer2DModel>(pipeline.LoadDenoiser());
        var noise = NoiseSource.Seeded(23);
        var prompt = noise.Draw([2, 6, 16], device: TestDevice.Device);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }, device: TestDevice.Device).reshape(2, 6);
        var negative = trueCfg > 1 ? noise.Draw([2, 6, 16], device: TestDevice.Device) : null;

        using var trajectory = pipeline.Rollout(model, prompt, [3, 4], promptEmbedsMask: mask, negativePromptEmbeds: negative);
        Assert.Equal(new long[] { 2, 16, 16 }, trajectory.Latents.select(1, 0).shape);
        var microBatch = trajectory.ToMicroBatch();
        var shapes = QwenImageTransformer2DModel.ImageShapes(64, 64, 2)[0];
        using var noGrad = no_grad();
        for (var k = 0; k < trajectory.LogProbs.shape[1]; k++)
        {
            var latent = trajectory.Latents.select(1, k);
            var timestep = trajectory.Timesteps.select(1, k);
            var prediction = model.Run(latent, prompt, mask, timestep / 1000f, shapes);
            if (negative is not null) prediction = Guidance.TrueCfg(prediction, model.Run(latent, negative, null, timestep / 1000f, shapes), trueCfg);
            var direct = SdeStep.Sample(pipeline.Schedule, SdeType.Sde, StepAt.Timesteps(timestep), latent, prediction, 0.7,
                NextSample.Known(trajectory.Latents.select(1, k + 1))).OrThrow();
            var viaAdapter = pipeline.Recompute(model, microBatch, k);
            TensorAssert.Close(viaAdapter.LogProb, direct.LogProb, TensorAssert.Elementwise, $"step {k} log-prob");
            TensorAssert.Close(viaAdapter.LogProb, trajectory.LogProbs.select(1, k), TensorAssert.Reduced, $"step {k} vs rollout");
        }
    }
}
