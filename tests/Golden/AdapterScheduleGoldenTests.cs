using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Models.Adapters;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The Qwen-Image adapter's schedule recipe against the reference Qwen-Image pipeline: for the sizes the reference set
/// was made with, the adapter derives the same <c>set_timesteps</c> arguments (sigmas <c>linspace(1, 1/N, N)</c>, <c>mu</c>
/// from the packed sequence length) and the same schedule. The <c>schedules</c> suite checks those cases in full; this
/// test borrows them, and fails when the reference set lacks one.
/// </summary>
public sealed class AdapterScheduleGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("schedules");

    [Theory]
    [InlineData("qwen_4_256x256", 4, 256, 256)]
    [InlineData("qwen_10_512x512", 10, 512, 512)]
    [InlineData("qwen_28_1024x1024", 28, 1024, 1024)]
    public void The_qwen_image_recipe_gives_the_reference_pipelines_schedule(string id, int steps, int height, int width)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Borrow(id);
        var config = new DiffusionModelConfig
        {
            Path = "", Architecture = "QwenImagePipeline",
            Pipeline = new PipelineSettings { NumInferenceSteps = steps, Height = height, Width = width },
        };
        var scheduler = ManifestReading.Config(c);
        var request = QwenImageFlowGrpo.Training.SetTimesteps(scheduler, config);
        var reference = ManifestReading.Request(c);
        Assert.Equal(reference.Sigmas!.Value.ToArray(), request.Sigmas!.Value.ToArray());
        Assert.True(Math.Abs(request.Mu!.Value - reference.Mu!.Value) <= 1e-15 * Math.Abs(reference.Mu.Value), $"mu {request.Mu:R}, reference {reference.Mu:R}");
        var state = QwenImageFlowGrpo.Training.Schedule(scheduler, config).OrThrow();
        TensorAssert.Identical(state.SigmasTensor(), c.Output("sigmas"), id + " sigmas");
        TensorAssert.Identical(state.TimestepsTensor(), c.Output("timesteps"), id + " timesteps");
    }
}
