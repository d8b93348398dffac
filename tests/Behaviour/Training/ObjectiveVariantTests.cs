using Omni.Algebra.Training;
using Omni.Tests.Behaviour.Support;
using Omni.Training.Run;

namespace Omni.Tests.Behaviour.Training;

/// <summary>The loop with GRPO-Guard, KL, MixGRPO windows, Flow-GRPO-Fast and timestep fractions.</summary>
public sealed class ObjectiveVariantTests
{
    [Fact]
    public async Task Grpo_guard_with_kl_to_a_frozen_reference_trains_and_logs_kl()
    {
        using var fixture = new TrainingFixture();
        using var reference = new TinyPolicy(TrainingFixture.PromptWidth, 5);
        var observer = new RecordingObserver();
        var options = TrainingFixture.Quick(3) with { LossMode = "grpo_guard", UseKl = true, KlCoefficient = 0.1 };
        var setup = fixture.Setup(options, observers: observer);
        setup = setup with { Policy = setup.Policy with { Reference = reference } };
        using var trainer = FlowGrpoTrainer.Create(setup);
        await trainer.RunAsync();
        Assert.Equal(0.0, observer.Reports[0].Metrics["actor/kl_loss"]);   // identical weights before the first update
        Assert.True(observer.Reports[^1].Metrics["actor/kl_loss"] > 0, "after updates the policy has moved away from the reference");
        Assert.All(observer.Reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
    }

    [Fact]
    public void Full_fine_tuning_with_kl_needs_a_reference()
    {
        using var fixture = new TrainingFixture();
        var error = Assert.Throws<Omni.Algebra.Errors.OmniException>(() =>
            FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick() with { UseKl = true })));
        Assert.Contains("Reference", error.Message);
    }

    [Fact]
    public async Task MixGrpo_random_windows_train_only_the_window_steps()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var options = TrainingFixture.Quick(4) with { Window = WindowStrategy.Random, WindowSize = 2, WindowRangeEnd = 5, WindowSeed = 0 };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options, observers: observer));
        await trainer.RunAsync();
        // random.Random(0 + g).randint(0, 3) = 3, 1, 0, 1
        Assert.Equal([3, 1, 0, 1], observer.Reports.Select(r => r.Window.Start));
        Assert.All(observer.Reports, r => Assert.Equal(2, r.Window.Length));
    }

    [Fact]
    public async Task Fast_mode_shares_the_trajectory_of_a_group_until_the_branch()
    {
        using var fixture = new TrainingFixture();
        var options = TrainingFixture.Quick(1) with { Fast = true, WindowSize = 1, WindowRangeStart = 2, WindowRangeEnd = 5 };
        var setup = fixture.Setup(options);
        var adapters = setup.Policy.Adapters().Match(a => a, e => throw new Exception(e.Message));
        var window = options.WindowSchedule.At(0, 6).Match(w => w, e => throw new Exception(e.Message));
        using var batch = Omni.Training.Rollout.GroupRollout.Run(setup.Policy, adapters.Rollout, fixture.Prompts, [0, 1], 4, 8, true, window,
            new SeedStreams(1), 0, setup.Decode).Match(b => b, e => throw new Exception(e.Message));
        var latents = batch.Chunks[0].Latents;   // (8, W+1, 3, 4, 4): the first recorded latent is the branch point
        for (var g = 0; g < 2; g++)
            for (var k = 1; k < 4; k++)
                Assert.True(Same(latents[g * 4].select(0, 0), latents[g * 4 + k].select(0, 0)), $"group {g} sample {k} diverged before the branch");
        Assert.False(Same(latents[0].select(0, 1), latents[1].select(0, 1)), "after the SDE branch the samples must differ");
        Assert.False(Same(latents[0].select(0, 0), latents[4].select(0, 0)), "different groups have different noise");
        await Task.CompletedTask;
    }

    private static bool Same(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) => (a - b).abs().max().item<float>() == 0;

    [Fact]
    public async Task Timestep_fraction_and_mini_batches_give_several_updates_per_step()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var options = TrainingFixture.Quick(2) with { TimestepFraction = 0.4, MiniBatchesPerEpoch = 2, InnerEpochs = 2 };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options, observers: observer));
        await trainer.RunAsync();
        Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
        // InnerEpochs × MiniBatchesPerEpoch optimizer updates per step, each its own learning-rate and grad-norm record.
        Assert.All(observer.Reports, r => Assert.Equal(4.0, r.Metrics["actor/optimizer_steps"]));
        Assert.Equal(2 * 4, Omni.Training.Checkpoints.TrainingCheckpoint.ReadState(trainer.Checkpoint()).OptimizerUpdates);
        Assert.All(observer.Reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
    }
}
