using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Training.Checkpoints;
using Omni.Training.Run;

namespace Omni.Tests.Behaviour.Training;

public sealed class TrainerTests
{
    [Fact]
    public async Task The_reward_rises_on_a_learnable_reward()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(16), observers: observer));
        await trainer.RunAsync();
        var rewards = observer.Reports.Select(r => r.Metrics["reward/mean"]).ToArray();
        var early = rewards.Take(4).Average();
        var late = rewards.TakeLast(4).Average();
        Assert.True(late > early + 0.05, $"reward should rise: first steps {early:F3}, last steps {late:F3} ({string.Join(", ", rewards.Select(r => r.ToString("F3")))})");
        Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
    }

    [Fact]
    public async Task The_first_ratio_of_every_step_is_exactly_one()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var options = TrainingFixture.Quick(3) with { InnerEpochs = 2 };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options, observers: observer));
        await trainer.RunAsync();
        Assert.All(observer.Reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
        // The second inner epoch sees updated weights, so the mean ratio over the step is not identically 1.
        Assert.Contains(observer.Reports, r => r.Metrics["actor/ratio_mean"] != 1.0);
        Assert.All(observer.Reports, r => Assert.True(r.Metrics["rollout/old_log_prob_mismatch"] < 1e-4,
            $"rollout and training log-probs differ by {r.Metrics["rollout/old_log_prob_mismatch"]}"));
    }

    [Fact]
    public async Task A_seed_determines_the_final_weights()
    {
        async Task<Dictionary<string, float[]>> Train(long seed)
        {
            using var fixture = new TrainingFixture();
            using var trainer = FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(3) with { Seed = seed }));
            await trainer.RunAsync();
            return fixture.Model.Snapshot();
        }
        var a = await Train(1);
        var b = await Train(1);
        var c = await Train(2);
        Assert.All(a, p => Assert.Equal(p.Value, b[p.Key]));
        Assert.Contains(a, p => !p.Value.SequenceEqual(c[p.Key]));
    }

    [Fact]
    public async Task A_crashed_run_resumed_from_its_checkpoint_ends_bit_identical()
    {
        var options = TrainingFixture.Quick(6) with { CheckpointEvery = 2, EmaDecay = 0.9 };
        Dictionary<string, float[]> uninterrupted;
        using (var fixture = new TrainingFixture())
        {
            using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options));
            await trainer.RunAsync();
            uninterrupted = fixture.Model.Snapshot();
        }

        using var crashed = new TrainingFixture();
        var crash = new RecordingObserver(crashAtStep: 4);
        using (var trainer = FlowGrpoTrainer.Create(crashed.Setup(options, observers: crash)))
            await Assert.ThrowsAsync<SimulatedCrash>(() => trainer.RunAsync());
        Assert.Equal([2, 4], crash.Checkpoints);

        // A new process: fresh model weights (same initialisation), same run folder.
        using var resumed = new TrainingFixture();
        var setup = crashed.Setup(options) with { Policy = crashed.Setup(options).Policy with { Module = resumed.Model } };
        using (var trainer = FlowGrpoTrainer.Create(setup))
        {
            Assert.Equal(4, trainer.NextStep);
            var summary = await trainer.RunAsync();
            Assert.Equal(6, summary.StepsCompleted);
            Assert.Equal(4, summary.ResumedFrom);
        }
        var final = resumed.Model.Snapshot();
        Assert.All(uninterrupted, p => Assert.Equal(p.Value, final[p.Key]));
        Assert.NotNull(TrainingCheckpoint.Latest(crashed.RunDirectory));
    }

    [Fact]
    public async Task Resuming_with_other_options_is_refused()
    {
        using var fixture = new TrainingFixture();
        using (var trainer = FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(2))))
            await trainer.RunAsync();
        var error = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(4) with { LearningRate = 1 })));
        Assert.Contains("LearningRate", error.Message);
        using var extended = FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(4)));
        Assert.Equal(2, extended.NextStep);
    }

    [Fact]
    public async Task A_NaN_reward_skips_the_update_and_says_why()
    {
        using var fixture = new TrainingFixture();
        var before = fixture.Model.Snapshot();
        var observer = new RecordingObserver();
        var nan = RewardFunction.PerSample("broken", (_, prompt, _) => prompt == "p1" ? float.NaN : 1f);
        var options = TrainingFixture.Quick(1) with { PromptsPerStep = 4 };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options, nan, observer));
        await trainer.RunAsync();
        var report = Assert.Single(observer.Reports);
        Assert.Contains("NaN", report.SkipReason);
        Assert.Contains("p1", report.SkipReason);
        Assert.Equal(1, report.Metrics["skipped"]);
        Assert.All(before, p => Assert.Equal(p.Value, fixture.Model.Snapshot()[p.Key]));
    }

    [Theory]
    [InlineData(0, "rollout")]
    [InlineData(12, "log-prob")]
    public async Task A_model_emitting_NaN_never_reaches_the_weights(int cleanCalls, string where)
    {
        using var fixture = new TrainingFixture();
        // 2 chunks × 6 steps = 12 rollout forwards; after them only the training path sees NaN.
        fixture.Model.NaNAfterCalls = cleanCalls;
        var before = fixture.Model.Snapshot();
        var observer = new RecordingObserver();
        var options = TrainingFixture.Quick(1) with { RecomputeOldLogProbs = false };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options, observers: observer));
        await trainer.RunAsync();
        var report = Assert.Single(observer.Reports);
        Assert.NotNull(report.SkipReason);
        Assert.Contains(where, report.SkipReason);
        Assert.All(before, p => Assert.Equal(p.Value, fixture.Model.Snapshot()[p.Key]));
    }

    [Fact]
    public async Task A_failing_reward_skips_steps_then_stops_the_run_with_its_reason()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var failing = new RewardFunction("down", (_, _) => throw new Omni.Rewards.RewardException("down", "scorer unreachable"));
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(5), failing, observer));
        var error = await Assert.ThrowsAsync<OmniException>(() => trainer.RunAsync());
        Assert.Contains("3 steps in a row", error.Message);
        Assert.Contains("scorer unreachable", error.Message);
        Assert.Equal(2, observer.Reports.Count);
        Assert.All(observer.Reports, r => Assert.Contains("scorer unreachable", r.SkipReason));
    }

    [Fact]
    public async Task Any_exception_from_a_custom_reward_skips_one_step_and_says_what_it_was()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var calls = 0;
        // Fails on the first step's batches only (a custom reward with a bug that the data triggers once).
        var flaky = new RewardFunction("flaky", async (batch, ct) =>
        {
            if (Interlocked.Increment(ref calls) <= 2) throw new InvalidOperationException("lookup table is empty");
            return await TrainingFixture.Redness.Score(batch, ct);
        });
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick(2) with { OverlapRewards = false }, flaky, observer));
        var summary = await trainer.RunAsync();
        Assert.Equal(2, observer.Reports.Count);
        Assert.Contains("InvalidOperationException: lookup table is empty", observer.Reports[0].SkipReason);
        Assert.Null(observer.Reports[1].SkipReason);
        Assert.Equal(1, summary.SkippedSteps);
        Assert.True(summary.OptimizerUpdates > 0);
    }

    [Fact]
    public void Bad_options_are_all_reported_at_once()
    {
        using var fixture = new TrainingFixture();
        var options = TrainingFixture.Quick() with { GroupSize = 0, TimestepFraction = 0, LearningRate = -1 };
        var error = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(fixture.Setup(options)));
        Assert.Contains("GroupSize", error.Message);
        Assert.Contains("TimestepFraction", error.Message);
        Assert.Contains("LearningRate", error.Message);
    }
}
