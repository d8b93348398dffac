using Omni.Algebra.Sde;
using Omni.Facade.Pipelines;
using Omni.Tests.Behaviour.Support;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>
/// A rollout on the tiny module, then the training path recomputing every trained step from the stored trajectory:
/// the log-probabilities must agree to 1e-6, since RL on diffusion models is only sound when they do.
/// </summary>
public sealed class RolloutRecomputeTests
{
    private static OmniPipeline Pipeline(TestModelFolder folder, SdeType type, int? window = null, double? guidance = null) =>
        OmniPipeline.FromFolder(folder.Path)
            .WithAlgorithm("flow_grpo")
            .WithSde(type, noiseLevel: 0.7)
            .WithSteps(8)
            .WithSize(64, 64)
            .WithGuidance(guidance)
            .WithConfig(c => window is { } w ? c with { Sde = c.Sde with { WindowSize = w, WindowRange = (0, 6) } } : c)
            .WithAdapter(TinyAdapter.Architecture, "flow_grpo", TinyAdapter.Training, TinyAdapter.Rollout)
            .Build();

    [Theory]
    [InlineData(SdeType.Sde, null, null)]
    [InlineData(SdeType.Cps, null, null)]
    [InlineData(SdeType.DanceSde, null, null)]
    [InlineData(SdeType.Sde, 3, null)]
    [InlineData(SdeType.Sde, null, 4.0)]
    public void Recomputed_log_probs_agree_with_the_rollout(SdeType type, int? window, double? guidance)
    {
        using var scope = NewDisposeScope();
        using var folder = new TestModelFolder();
        var pipeline = Pipeline(folder, type, window, guidance);
        using var module = new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth);
        var prompts = Omni.Effects.Random.NoiseSource.Seeded(3).Draw([3, 5, TinyAdapter.PromptWidth]);
        var negative = guidance is null ? null : zeros_like(prompts);

        using var trajectory = pipeline.Rollout(module, prompts, [11, 12, 13], negativePromptEmbeds: negative);
        var trained = window ?? 7;
        Assert.Equal(new long[] { 3, trained + 1, TinyAdapter.Sequence, TinyAdapter.Channels }, trajectory.Latents.shape);
        Assert.Equal(new long[] { 3, trained }, trajectory.LogProbs.shape);
        Assert.Equal(new long[] { 3, trained }, trajectory.Timesteps.shape);
        Assert.Equal(ScalarType.Float32, trajectory.Latents.dtype);
        Assert.True(trajectory.LogProbs.isfinite().all().item<bool>(), "rollout log-probs must be finite inside the window");

        for (var step = 0; step < trained; step++)
        {
            var recomputed = pipeline.Recompute(module, trajectory, step);
            var gap = (recomputed.LogProb - trajectory.LogProbs.select(1, step)).abs().max().item<float>();
            Assert.True(gap <= 1e-6 * (1 + trajectory.LogProbs.select(1, step).abs().max().item<float>()),
                $"step {step}: recomputed log-prob differs from the rollout's by {gap:E2}");
            Assert.Equal(trajectory.PrevSampleMeans!.select(1, step).shape, recomputed.PrevSampleMean.shape);
        }
    }

    [Fact]
    public void The_same_seeds_give_the_same_trajectory_and_other_seeds_do_not()
    {
        using var scope = NewDisposeScope();
        using var folder = new TestModelFolder();
        var pipeline = Pipeline(folder, SdeType.Sde, window: 2);
        using var module = new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth);
        var prompts = ones(2, 5, TinyAdapter.PromptWidth);
        using var first = pipeline.Rollout(module, prompts, [1, 2]);
        using var second = pipeline.Rollout(module, prompts, [1, 2]);
        using var other = pipeline.Rollout(module, prompts, [1, 3]);
        Assert.True(first.Latents.bytes.SequenceEqual(second.Latents.bytes));
        Assert.True(first.Timesteps.bytes.SequenceEqual(second.Timesteps.bytes), "the window must be drawn from the seeds");
        Assert.False(first.Latents.select(0, 1).bytes.SequenceEqual(other.Latents.select(0, 1).bytes));
    }

    [Fact]
    public void Training_recomputation_is_differentiable_with_respect_to_the_model()
    {
        using var scope = NewDisposeScope();
        using var folder = new TestModelFolder();
        var pipeline = Pipeline(folder, SdeType.Sde);
        var weight = zeros(TinyAdapter.Channels).requires_grad_(true);
        var module = new ShiftedDenoiser(new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth), weight);
        var prompts = ones(2, 5, TinyAdapter.PromptWidth);
        Omni.Algebra.Rollouts.Trajectory trajectory;
        using (no_grad()) trajectory = pipeline.Rollout(module, prompts, [5, 6]);
        var step = pipeline.Recompute(module, trajectory, 0);
        step.LogProb.sum().backward();
        Assert.NotNull(weight.grad);
        Assert.True(weight.grad!.abs().sum().item<float>() > 0, "the log-prob must carry gradients to the model's parameters");
    }

    private sealed class ShiftedDenoiser(TinyDenoiser inner, Tensor shift) : Omni.Algebra.Adapters.IDenoiser
    {
        public Tensor Forward(Omni.Algebra.Adapters.ModelInputs inputs) => inner.Forward(inputs) + shift;
    }
}
