using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Facade.Pipelines;
using Omni.Tests.Behaviour.Support;

namespace Omni.Tests.Behaviour.Adapters;

/// <summary>An adapter record's functions see the adapter they belong to, so a <c>with</c> copy behaves as its own fields say.</summary>
public sealed class AdapterCopyTests
{
    [Fact]
    public void A_copy_with_another_forward_scores_the_stored_transition_with_that_forward()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var folder = new TestModelFolder();
        using var module = new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth);
        // The copy predicts the model's velocity plus one: its training path must see the shifted prediction.
        var shifted = TinyAdapter.Training with { Name = "Shifted", Forward = (m, _, positive, _) => m.Forward(positive) + 1 };
        OmniPipeline Pipeline(TrainingAdapter training) => OmniPipeline.FromFolder(folder.Path).WithSteps(4).WithSde(Omni.Algebra.Sde.SdeType.Sde, 0.7)
            .WithAdapter(TinyAdapter.Architecture, "flow_grpo", training, TinyAdapter.Rollout).Build();
        var original = Pipeline(TinyAdapter.Training);
        var copy = Pipeline(shifted);
        using var trajectory = original.Rollout(module, Omni.Effects.Random.NoiseSource.Seeded(1).Draw([2, 5, TinyAdapter.PromptWidth]), [3, 4]);
        var batch = trajectory.ToMicroBatch();

        var viaOriginal = original.Recompute(module, batch, 1);
        var viaCopy = copy.Recompute(module, batch, 1);
        var expected = TrajectoryStep.SamplePreviousStep(copy.Schedule, copy.Config, batch, 1,
            module.Forward(copy.Training.PrepareModelInputs(module, copy.Config, AdapterCalls.TrajectoryRequest(batch, 1).OrThrow()).OrThrow().Positive) + 1).OrThrow();
        Assert.True(viaCopy.PrevSampleMean.allclose(expected.PrevSampleMean, rtol: 0, atol: 0), "the copy scored with the original's forward");
        Assert.False(viaCopy.PrevSampleMean.allclose(viaOriginal.PrevSampleMean), "the copy's forward made no difference");
    }

    [Fact]
    public void The_shapes_adapter_is_sd3s_under_its_own_name_with_only_its_forward_and_decoder_changed()
    {
        var shapes = Omni.Shapes.Pipeline.ShapesAdapter.Training;
        var sd3 = Omni.Models.Adapters.Sd3FlowGrpo.Training;
        Assert.Equal("OmniShapesFlowGRPO", shapes.Name);
        // Besides its name, only its forward call (the denoiser predicts the clean image; the forward hands on the velocity
        // it implies, tests/Behaviour/ShapesModel/SamplePredictionTests.cs) and its decoder differ: its latents are the
        // pixels themselves (SD3's is the folder's VAE).
        Assert.NotSame(sd3.Forward, shapes.Forward);
        Assert.Equal(sd3 with { Name = shapes.Name, Forward = shapes.Forward, BuildDecoder = shapes.BuildDecoder }, shapes);
        var config = new Omni.Algebra.Config.DiffusionModelConfig { Path = "", Architecture = Omni.Shapes.Pipeline.ShapesAdapter.Key.Architecture };
        Assert.Same(Decoding.FolderVae, sd3.BuildDecoder(config));
        Assert.Equal(Omni.Shapes.Model.ShapesImages.Decode, Assert.IsType<Decoding.Custom>(shapes.BuildDecoder(config)).Decode);
    }
}
