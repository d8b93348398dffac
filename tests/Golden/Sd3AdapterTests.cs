using System.Collections.Immutable;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Adapters;
using Omni.Models.Sd3;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The (StableDiffusion3Pipeline, flow_grpo) adapter on the tiny SD3 pipeline folder of the golden set: the folder
/// loads through <c>model_index.json</c>, and the adapter's training-path log-prob equals a direct scheduler call on
/// the same model prediction.
/// </summary>
public sealed class Sd3AdapterTests
{
    private static string Folder => Path.Combine(GoldenDirectory.Path, "pipelines", "sd3_tiny_pipe");

    private static OmniPipeline Pipeline(double? guidance = null) =>
        OmniPipeline.FromFolder(Folder).WithSteps(6).WithSize(128, 128).WithSde(SdeType.Sde, 0.7).WithGuidance(guidance).Build();

    [Fact]
    public void The_pipeline_folder_loads_through_model_index()
    {
        var pipeline = Pipeline();
        Assert.Equal(Sd3FlowGrpo.Key, pipeline.Config.Key);
        Assert.Equal("StableDiffusion3FlowGRPO", pipeline.Training.Name);
        Assert.Equal(3.0, pipeline.Schedule.Config.Shift);
        Assert.Equal(6, pipeline.Schedule.NumInferenceSteps);
        var model = Assert.IsType<Sd3Transformer2DModel>(pipeline.LoadDenoiser());
        Assert.Equal(4, model.Config.InChannels);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(4.5)]
    public void Recomputed_log_probs_equal_a_direct_scheduler_call(double? guidance)
    {
        using var scope = NewDisposeScope();
        var pipeline = Pipeline(guidance);
        var model = (Sd3Transformer2DModel)pipeline.LoadDenoiser();
        var noise = NoiseSource.Seeded(17);
        var prompt = noise.Draw([2, 7, 32]);
        var pooled = noise.Draw([2, 64]);
        var negative = guidance is null ? null : noise.Draw([2, 7, 32]);
        var extras = ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, pooled);
        if (guidance is not null) extras = extras.Add(Sd3FlowGrpo.NegativePooled, noise.Draw([2, 64]));

        using var trajectory = pipeline.Rollout(model, prompt, [1, 2], negativePromptEmbeds: negative, extras: extras);
        Assert.Equal(new long[] { 2, 6, 4, 16, 16 }, trajectory.Latents.shape);

        var microBatch = trajectory.ToMicroBatch();
        using var noGrad = no_grad();
        for (var k = 0; k < trajectory.LogProbs.shape[1]; k++)
        {
            var latent = trajectory.Latents.select(1, k);
            var timestep = trajectory.Timesteps.select(1, k);
            var prediction = model.forward(latent, prompt, pooled, timestep);
            if (guidance is { } g)
            {
                var unconditional = model.forward(latent, negative!, extras[Sd3FlowGrpo.NegativePooled], timestep);
                prediction = unconditional + g * (prediction - unconditional);
            }
            var direct = SdeStep.Sample(pipeline.Schedule, SdeType.Sde, StepAt.Timesteps(timestep), latent, prediction, 0.7,
                NextSample.Known(trajectory.Latents.select(1, k + 1))).OrThrow();
            var viaAdapter = pipeline.Recompute(model, microBatch, k);
            TensorAssert.Close(viaAdapter.LogProb, direct.LogProb, TensorAssert.Elementwise, $"step {k} log-prob");
            TensorAssert.Close(viaAdapter.LogProb, trajectory.LogProbs.select(1, k), TensorAssert.Reduced, $"step {k} vs rollout");
        }
    }

    [Fact]
    public void A_rollout_runs_from_a_prompt_embeddings_file()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(Directory.CreateTempSubdirectory("omni-sd3-prompts-").FullName, "prompts.safetensors");
        var noise = NoiseSource.Seeded(5);
        new Omni.Effects.Prompts.PromptEmbeddings(noise.Draw([2, 7, 32]), null, null, null,
            ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, noise.Draw([2, 64])), ["a cat", "a dog"]).Save(path);
        var prompts = Omni.Effects.Prompts.PromptEmbeddings.Load(path).Select([0, 0, 1, 1]);
        var pipeline = Pipeline();
        using var trajectory = pipeline.Rollout(pipeline.LoadDenoiser(), prompts, [1, 2, 3, 4]);
        Assert.Equal(new long[] { 4, 5 }, trajectory.LogProbs.shape);
        Assert.True(trajectory.LogProbs.isfinite().all().item<bool>());
    }

    [Fact]
    public void Final_latents_decode_through_the_folder_vae()
    {
        using var scope = NewDisposeScope();
        var pipeline = Pipeline();
        var vae = Omni.Models.Loading.VaeLoader.LoadAutoencoderKL(Folder).OrThrow();
        var noise = NoiseSource.Seeded(8);
        var extras = ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, noise.Draw([1, 64]));
        using var trajectory = pipeline.Rollout(pipeline.LoadDenoiser(), noise.Draw([1, 7, 32]), [9], extras: extras);
        using var noGrad = no_grad();
        var images = vae.DecodeLatents(trajectory.FinalLatents);
        Assert.Equal(new long[] { 1, 3, 32, 32 }, images.shape);
        Assert.True(images.isfinite().all().item<bool>());
    }

    [Fact]
    public void Missing_pooled_embeddings_are_reported_like_the_reference()
    {
        using var scope = NewDisposeScope();
        var pipeline = Pipeline();
        var model = pipeline.LoadDenoiser();
        var exception = Assert.Throws<OmniException>(() => pipeline.Rollout(model, zeros(1, 7, 32), [1]));
        Assert.Contains("SD3 FlowGRPO requires `pooled_prompt_embeds` from rollout.", exception.Message);
    }
}
