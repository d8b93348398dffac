using Omni.Algebra.Errors;
using Omni.Algebra.Training;
using Omni.Tests.Behaviour.Support;
using Omni.Training.Checkpoints;
using Omni.Training.Options;
using Omni.Training.Run;

namespace Omni.Tests.Behaviour.Training;

/// <summary>
/// The training flows of Flow-DPPO, online Diffusion-DPO, DiffusionNFT and distillation on the tiny policy: each improves its
/// own training signal (the reward rises, or the distillation loss falls), and each refuses the setups it cannot train.
/// </summary>
public sealed class ObjectiveFlowTests
{
    private static async Task<List<StepReport>> Train(TrainingFixture fixture, TrainingOptions options, Func<Policy, Policy>? policy = null)
    {
        var observer = new RecordingObserver();
        var setup = fixture.Setup(options, observers: observer);
        setup = setup with { Policy = (policy ?? (p => p))(setup.Policy) };
        using var trainer = FlowGrpoTrainer.Create(setup);
        await trainer.RunAsync();
        Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
        return observer.Reports;
    }

    private static void AssertRises(IReadOnlyList<StepReport> reports, string metric, double margin)
    {
        var values = reports.Select(r => r.Metrics[metric]).ToArray();
        var (early, late) = (values.Take(4).Average(), values.TakeLast(4).Average());
        Assert.True(late > early + margin, $"{metric} should rise: first steps {early:F4}, last steps {late:F4} ({string.Join(", ", values.Select(v => v.ToString("F4")))})");
    }

    private static void AssertFalls(IReadOnlyList<StepReport> reports, string metric)
    {
        var values = reports.Select(r => r.Metrics[metric]).ToArray();
        var (early, late) = (values.Take(2).Average(), values.TakeLast(2).Average());
        Assert.True(late < 0.7 * early, $"{metric} should fall: first steps {early:G4}, last steps {late:G4} ({string.Join(", ", values.Select(v => v.ToString("G4")))})");
    }

    [Fact]
    public async Task Flow_dppo_raises_the_reward_and_logs_its_trust_region()
    {
        using var fixture = new TrainingFixture();
        var reports = await Train(fixture, TrainingFixture.Quick(16) with { LossMode = "flow_dppo" });
        AssertRises(reports, "reward/mean", 0.05);
        Assert.All(reports, r => Assert.True(r.Metrics.ContainsKey("actor/kl_mask_fraction")));
    }

    [Fact]
    public async Task Online_dpo_raises_the_reward_against_a_frozen_reference()
    {
        using var fixture = new TrainingFixture();
        using var reference = new TinyPolicy(TrainingFixture.PromptWidth, 5);
        var options = TrainingFixture.Quick(16) with { LossMode = "dpo", DpoBeta = 100 };
        var reports = await Train(fixture, options, p => p with { Reference = reference });
        AssertRises(reports, "reward/mean", 0.05);
        Assert.All(reports, r => Assert.Equal(2, r.Metrics["actor/pairs"]));
        Assert.All(reports, r => Assert.Equal(0, r.Window.Length));   // clean latents come from the ODE
        Assert.True(reports[^1].Metrics["actor/implicit_acc"] >= 0);
    }

    [Fact]
    public async Task Diffusion_nft_raises_the_reward()
    {
        using var fixture = new TrainingFixture();
        var options = TrainingFixture.Quick(16) with { LossMode = "diffusion_nft", MixBeta = 0.5, TimestepFraction = 0.5 };
        var reports = await Train(fixture, options);
        AssertRises(reports, "reward/mean", 0.05);
        Assert.All(reports, r => Assert.Equal(3, r.Metrics["actor/train_timesteps"]));
        Assert.All(reports, r => Assert.False(r.Metrics.ContainsKey("actor/ref_kl_loss"), "no reference pass runs when ref_kl_coef is 0"));
        Assert.All(reports, r => Assert.Equal(0.0, r.Metrics["old_policy/decay"]));
    }

    [Theory]
    [InlineData("distill_kl", "actor/distill_kl_loss")]
    [InlineData("distill_fm_mse", "actor/distill_fm_mse_loss")]
    public async Task Distillation_pulls_the_student_towards_its_teacher(string loss, string metric)
    {
        using var fixture = new TrainingFixture();
        using var teacher = new TinyPolicy(TrainingFixture.PromptWidth, 9);
        var reports = await Train(fixture, TrainingFixture.Quick(8) with { LossMode = loss, LearningRate = 1e-2 }, p => p with { Teacher = teacher });
        AssertFalls(reports, metric);
    }

    [Fact]
    public async Task An_added_distillation_term_is_weighted_into_flow_grpo()
    {
        using var fixture = new TrainingFixture();
        using var teacher = new TinyPolicy(TrainingFixture.PromptWidth, 9);
        var options = TrainingFixture.Quick(2) with { UseDistillLoss = true, DistillLossMode = "distill_fm_mse", DistillLossCoefficient = 0.5 };
        var reports = await Train(fixture, options, p => p with { Teacher = teacher });
        Assert.All(reports, r => Assert.True(r.Metrics["actor/distill_fm_mse_loss"] > 0));
        Assert.All(reports, r => Assert.True(r.Metrics.ContainsKey("actor/ppo_kl")));
    }

    [Fact]
    public async Task The_nft_old_policy_lags_behind_with_an_ema_schedule_and_resumes_bit_identical()
    {
        var options = TrainingFixture.Quick(4) with
        {
            LossMode = "diffusion_nft", TimestepFraction = 0.34, OldPolicyDecaySchedule = "linear_to_0_5", CheckpointEvery = 2,
        };
        Dictionary<string, float[]> uninterrupted;
        using (var fixture = new TrainingFixture())
        {
            var reports = await Train(fixture, options);
            // linear_to_0_5: d = min(step·0.001, 0.5) after steps 1…4.
            Assert.Equal([0.001, 0.002, 0.003, 0.004], reports.Select(r => Math.Round(r.Metrics["old_policy/decay"], 6)));
            uninterrupted = fixture.Model.Snapshot();
        }
        using var crashed = new TrainingFixture();
        var crash = new RecordingObserver(crashAtStep: 2);
        using (var trainer = FlowGrpoTrainer.Create(crashed.Setup(options, observers: crash)))
            await Assert.ThrowsAsync<SimulatedCrash>(() => trainer.RunAsync());
        Assert.NotNull(TrainingCheckpoint.Latest(crashed.RunDirectory));
        using var resumed = new TrainingFixture();
        var setup = crashed.Setup(options) with { Policy = crashed.Setup(options).Policy with { Module = resumed.Model } };
        using (var trainer = FlowGrpoTrainer.Create(setup))
        {
            Assert.Equal(2, trainer.NextStep);
            Assert.False(trainer.OldPolicy!.MatchesCurrent, "an EMA old policy differs from the current weights after updates");
            await trainer.RunAsync();
        }
        Assert.All(uninterrupted, p => Assert.Equal(p.Value, resumed.Model.Snapshot()[p.Key]));
    }

    [Fact]
    public void Dpo_needs_groups_of_two_an_even_micro_batch_and_a_reference()
    {
        using var fixture = new TrainingFixture();
        var error = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick() with
        {
            LossMode = "dpo", GroupSize = 1, PromptsPerStep = 3, MicroBatchSize = 3,
        })));
        Assert.Contains("GroupSize", error.Message);
        Assert.Contains("MicroBatchSize must be even", error.Message);
        Assert.Contains("reference", error.Message);
    }

    [Fact]
    public void Nft_with_a_reference_term_needs_a_reference_and_rejects_the_reverse_sde_kl()
    {
        using var fixture = new TrainingFixture();
        var error = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick() with
        {
            LossMode = "diffusion_nft", RefKlCoefficient = 0.1, UseKl = true,
        })));
        Assert.Contains("ref_kl_coef", error.Message);
        Assert.Contains("UseKl", error.Message);
    }

    [Fact]
    public void Distillation_and_a_teacher_come_together()
    {
        using var fixture = new TrainingFixture();
        var noTeacher = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick() with { LossMode = "distill_kl" })));
        Assert.Contains("no teacher is configured", noTeacher.Message);
        using var teacher = new TinyPolicy(TrainingFixture.PromptWidth, 9);
        var setup = fixture.Setup(TrainingFixture.Quick());
        var unused = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(setup with { Policy = setup.Policy with { Teacher = teacher } }));
        Assert.Contains("no distillation loss is active", unused.Message);
    }

    [Fact]
    public void An_unknown_loss_mode_lists_the_registered_ones()
    {
        using var fixture = new TrainingFixture();
        var error = Assert.Throws<OmniException>(() => FlowGrpoTrainer.Create(fixture.Setup(TrainingFixture.Quick() with { LossMode = "ppo" })));
        Assert.Contains("loss_mode", error.Message);
        Assert.Contains("diffusion_nft", error.Message);
    }

    [Fact]
    public async Task Per_sample_windows_give_each_sample_its_own_window_and_an_on_policy_first_ratio()
    {
        using var fixture = new TrainingFixture();
        var options = TrainingFixture.Quick(2) with { Window = WindowStrategy.PerSample, WindowSize = 2, WindowRangeStart = 0, WindowRangeEnd = 5 };
        var reports = await Train(fixture, options);
        Assert.All(reports, r => Assert.Equal(8, r.Windows.Length));
        Assert.All(reports, r => Assert.All(r.Windows, w => Assert.Equal(2, w.Length)));
        Assert.Contains(reports, r => r.Windows.Select(w => w.Start).Distinct().Count() > 1);
        Assert.All(reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
        Assert.All(reports, r => Assert.True(r.Metrics["rollout/old_log_prob_mismatch"] < 1e-4));
    }
}
