using System.Collections.Immutable;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Rollouts;
using Omni.Effects.Random;
using Omni.Shapes.Pipeline;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.ShapesModel;

public sealed class ShapesAdapterTests
{
    [Fact]
    public void The_pair_resolves_through_the_registries_directly_and_as_a_plugin()
    {
        var key = new AdapterKey("OmniShapesPipeline", "flow_grpo");
        Assert.Equal(key, ShapesAdapter.Key);
        var registries = ShapesAdapter.Register(AdapterRegistries.Default);
        Assert.Equal("OmniShapesFlowGRPO", registries.Training.Get(key).Match(a => a.Name, e => e.Message));
        Assert.True(registries.Rollout.Get(key).IsRight);
        var viaPlugin = new ShapesPlugin().Register(AdapterRegistries.Default);
        Assert.True(viaPlugin.Training.Get(key).IsRight);
    }

    [Fact]
    public void A_rollout_of_a_fresh_model_gives_finite_log_probs_that_training_recomputes()
    {
        using var pipeline = TinyShapes.Create(seed: 1);
        using (no_grad()) foreach (var p in pipeline.Transformer.parameters()) p.add_(0.01f);   // leave the adaLN-Zero start
        pipeline.Eval();
        var config = pipeline.ModelConfig(steps: 4, guidanceScale: 3.0, sde: new SdeSettings { NoiseLevel = 0.7 });
        var registries = ShapesAdapter.Register(AdapterRegistries.Default);
        var schedule = ShapesAdapter.Training.Schedule(pipeline.Scheduler, config).Match(s => s, e => throw new Xunit.Sdk.XunitException(e.Head.Message));
        var prompts = ShapesPromptEncoding.Encode(pipeline.TextEncoder, ["a red circle", "two blue squares below a green triangle"])
            .Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
        var noise = NoiseSource.PerSample([11, 12]);
        var request = new RolloutRequest(prompts.PromptEmbeds, noise, noise, NegativePromptEmbeds: prompts.NegativePromptEmbeds) { Extras = prompts.Extras };
        var rollout = registries.Rollout.Get(ShapesAdapter.Key).Match(r => r, e => throw new Xunit.Sdk.XunitException(e.Message));
        using var trajectory = rollout.Run(new RolloutContext(pipeline.Transformer, schedule, config, request))
            .Match(t => t, e => throw new Xunit.Sdk.XunitException(e.Message));

        Assert.Equal(new long[] { 2, 4, 3, 40, 40 }, trajectory.Latents.shape);   // 3 SDE steps + the entering latent
        Assert.Equal(new long[] { 2, 3 }, trajectory.LogProbs.shape);
        Assert.True(trajectory.LogProbs.isfinite().all().item<bool>());
        // The rollout does not decode; the adapter's decoder (run once, by the trainer) maps pixel-space latents to images.
        Assert.Null(trajectory.Decoded);
        var decoder = Assert.IsType<Decoding.Custom>(ShapesAdapter.Training.BuildDecoder(config));
        using var images = decoder.Decode(trajectory.FinalLatents);
        Assert.Equal(new long[] { 2, 3, 40, 40 }, images.shape);
        Assert.True(images.min().item<float>() >= 0 && images.max().item<float>() <= 1);

        var batch = trajectory.ToMicroBatch();
        for (var step = 0; step < 3; step++)
        {
            var recomputed = PipelineHelpers.RecomputeStep(registries, pipeline.Transformer, schedule, config, batch, step)
                .Match(s => s, e => throw new Xunit.Sdk.XunitException(e.Message));
            Assert.True(recomputed.LogProb.allclose(trajectory.LogProbs.select(1, step), rtol: 0, atol: 1e-4));
        }
    }

    [Fact]
    public void Samples_depend_on_their_seed_only_not_on_the_batch()
    {
        using var pipeline = TinyShapes.Create(seed: 2);
        using (no_grad()) foreach (var p in pipeline.Transformer.parameters()) p.add_(0.01f);
        pipeline.Eval();
        using var pair = ShapesSampler.Sample(pipeline, ["a red circle", "a green square"], [7, 8], new ShapesSampling(Steps: 3));
        using var single = ShapesSampler.Sample(pipeline, ["a green square"], [8], new ShapesSampling(Steps: 3));
        Assert.True(pair.narrow(0, 1, 1).allclose(single, rtol: 0, atol: 1e-5));
    }
}
