using System.Collections.Immutable;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Adapters;
using Omni.Models.QwenImage;
using Omni.Models.Sd3;
using Omni.Models.Wan;
using Omni.Tests.Behaviour.Support;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Adapters;

/// <summary>
/// Each built-in architecture, end to end on its tiny diffusers folder: the folder loads through <c>model_index.json</c>,
/// a rollout samples the window, and the training path recomputes every stored step to the rollout's log-probs — with and
/// without guidance. (Parity with the reference is the golden suite's job; this is the loop's self-consistency.)
/// </summary>
public sealed class ArchitectureRolloutTests
{
    private static void TrainingPathReproducesTheRollout(OmniPipeline pipeline, Omni.Algebra.Adapters.IDenoiser model, Trajectory trajectory)
    {
        Assert.True(trajectory.LogProbs.isfinite().all().item<bool>(), "rollout log-probs must be finite inside the window");
        using var noGrad = no_grad();
        for (var k = 0; k < trajectory.LogProbs.shape[1]; k++)
        {
            var rollout = trajectory.LogProbs.select(1, k);
            var recomputed = pipeline.Recompute(model, trajectory, k).LogProb;
            var gap = (recomputed - rollout).abs().max().item<float>();
            Assert.True(gap <= 1e-5 * (1 + rollout.abs().max().item<float>()), $"step {k}: the training path differs from the rollout by {gap:E2}");
        }
    }

    private static OmniPipeline Sd3(double? guidance = null) =>
        OmniPipeline.FromFolder(VendoredFixtures.Pipeline("sd3_tiny_pipe")).WithSteps(6).WithSize(128, 128).WithSde(SdeType.Sde, 0.7).WithGuidance(guidance).Build();

    [Theory]
    [InlineData(null)]
    [InlineData(4.5)]
    public void Sd3_rollouts_recompute_on_the_training_path(double? guidance)
    {
        using var scope = NewDisposeScope();
        var pipeline = Sd3(guidance);
        Assert.Equal(Sd3FlowGrpo.Key, pipeline.Config.Key);
        var model = Assert.IsType<Sd3Transformer2DModel>(pipeline.LoadDenoiser());
        var noise = NoiseSource.Seeded(17);
        var prompt = noise.Draw([2, 7, 32]);
        var extras = ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, noise.Draw([2, 64]));
        var negative = guidance is null ? null : noise.Draw([2, 7, 32]);
        if (guidance is not null) extras = extras.Add(Sd3FlowGrpo.NegativePooled, noise.Draw([2, 64]));
        using var trajectory = pipeline.Rollout(model, prompt, [1, 2], negativePromptEmbeds: negative, extras: extras);
        Assert.Equal(new long[] { 2, 6, 4, 16, 16 }, trajectory.Latents.shape);   // 5 SDE steps + the entering latent, 128 px / 8
        TrainingPathReproducesTheRollout(pipeline, model, trajectory);
    }

    [Fact]
    public void Sd3_rolls_out_a_prompt_embeddings_file_and_decodes_through_the_folder_vae()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(Directory.CreateTempSubdirectory("omni-sd3-prompts-").FullName, "prompts.safetensors");
        var noise = NoiseSource.Seeded(5);
        new Omni.Effects.Prompts.PromptEmbeddings(noise.Draw([2, 7, 32]), null, null, null,
            ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, noise.Draw([2, 64])), ["a cat", "a dog"]).Save(path);
        using var loaded = Omni.Effects.Prompts.PromptEmbeddings.Load(path);
        using var prompts = loaded.Select([0, 0, 1, 1]);
        var pipeline = Sd3();
        using var trajectory = pipeline.Rollout(pipeline.LoadDenoiser(), prompts, [1, 2, 3, 4]);
        Assert.Equal(new long[] { 4, 5 }, trajectory.LogProbs.shape);
        Assert.True(trajectory.LogProbs.isfinite().all().item<bool>());
        var vae = Omni.Models.Loading.VaeLoader.LoadAutoencoderKL(VendoredFixtures.Pipeline("sd3_tiny_pipe")).OrThrow();
        using var noGrad = no_grad();
        var images = vae.DecodeLatents(trajectory.FinalLatents);
        Assert.Equal(new long[] { 4, 3, 32, 32 }, images.shape);
        Assert.True(images.isfinite().all().item<bool>());
    }

    [Fact]
    public void Sd3_without_pooled_embeddings_fails_like_the_reference()
    {
        using var scope = NewDisposeScope();
        var pipeline = Sd3();
        var exception = Assert.Throws<OmniException>(() => pipeline.Rollout(pipeline.LoadDenoiser(), zeros(1, 7, 32), [1]));
        Assert.Contains("SD3 FlowGRPO requires `pooled_prompt_embeds` from rollout.", exception.Message);
    }

    [Theory]
    [InlineData("flow_grpo", 1.0)]
    [InlineData("flow_grpo", 4.0)]
    [InlineData("mix_grpo", 1.0)]
    public void Qwen_image_rollouts_recompute_on_the_training_path(string algorithm, double trueCfg)
    {
        using var scope = NewDisposeScope();
        var builder = OmniPipeline.FromFolder(VendoredFixtures.Pipeline("qwenimage_tiny_pipe")).WithAlgorithm(algorithm).WithSteps(4).WithSize(64, 64)
            .WithSde(SdeType.Sde, 0.7).WithGuidance(null, trueCfg);
        if (algorithm == "mix_grpo") builder = builder.WithSdeWindow(2, (0, 3));
        var pipeline = builder.Build();
        var model = Assert.IsType<QwenImageTransformer2DModel>(pipeline.LoadDenoiser());
        var noise = NoiseSource.Seeded(23);
        var prompt = noise.Draw([2, 6, 16]);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }).reshape(2, 6);
        var negative = trueCfg > 1 ? noise.Draw([2, 6, 16]) : null;
        using var trajectory = pipeline.Rollout(model, prompt, [3, 4], promptEmbedsMask: mask, negativePromptEmbeds: negative);
        Assert.Equal(new long[] { 2, 16, 16 }, trajectory.Latents.select(1, 0).shape);   // 64 px → 8×8 latent → 16 packed 2×2 patches of 4·4 channels
        Assert.Equal(algorithm == "mix_grpo" ? 2 : 3, trajectory.LogProbs.shape[1]);
        TrainingPathReproducesTheRollout(pipeline, model, trajectory);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(5.0)]
    public void Wan_rollouts_recompute_on_the_training_path(double trueCfg)
    {
        using var scope = NewDisposeScope();
        using var folder = new WanTestFolder();
        var pipeline = OmniPipeline.FromFolder(folder.Path).WithAlgorithm("dance_grpo").WithSteps(4).WithSize(64, 64)
            .WithConfig(c => c with { Pipeline = c.Pipeline with { NumFrames = 5 } })
            .WithSde(SdeType.DanceSde, 0.7).WithGuidance(null, trueCfg).Build();
        Assert.Equal("Wan22DanceGRPO", pipeline.Training.Name);
        var model = Assert.IsType<WanTransformer3DModel>(pipeline.LoadDenoiser());
        var noise = NoiseSource.Seeded(31);
        var prompt = noise.Draw([2, 12, 16]);
        var mask = ones(2, 12, ScalarType.Int64);
        mask[1, 6..] = zeros(6, ScalarType.Int64);
        var negative = trueCfg > 1 ? noise.Draw([2, 12, 16]) : null;
        using var trajectory = pipeline.Rollout(model, prompt, [5, 6], promptEmbedsMask: mask, negativePromptEmbeds: negative);
        Assert.Equal(new long[] { 2, 4, 2, 8, 8 }, trajectory.Latents.select(1, 0).shape);   // 5 frames → 2 latent frames, 64 px → 8
        TrainingPathReproducesTheRollout(pipeline, model, trajectory);
    }
}
