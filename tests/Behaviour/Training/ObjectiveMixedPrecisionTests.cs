using Omni.Algebra.Devices;
using Omni.Tests.Behaviour.Support;
using Omni.Training.Options;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Training;

/// <summary>
/// The objectives with update paths of their own (Flow-DPPO's trust region, online Diffusion-DPO, DiffusionNFT, distillation)
/// under bf16-mixed and with a diverging model: their gradients reach the float32 masters through the bfloat16 model, the
/// frozen reference and teacher compute in bfloat16, the old policy and the losses' metrics stay float32, and a NaN from the
/// model never reaches the weights, the skip reason saying where it appeared.
/// </summary>
public sealed class ObjectiveMixedPrecisionTests
{
    public static TheoryData<string, string> Losses => new()
    {
        { "flow_dppo", "actor/ppo_kl" },
        { "dpo", "actor/dpo_loss" },
        { "diffusion_nft", "actor/policy_loss" },
        { "distill_kl", "actor/distill_kl_loss" },
        { "distill_fm_mse", "actor/distill_fm_mse_loss" },
    };

    private static TrainingOptions Options(string loss, int steps) =>
        TrainingFixture.Quick(steps) with { LossMode = loss, DpoBeta = 100, MixBeta = 0.5, TimestepFraction = 0.5 };

    // DPO trains against a frozen reference, distillation against a teacher; the other objectives need neither.
    private static (TrainingSetup Setup, TinyPolicy? Companion) Setup(TrainingFixture fixture, string loss, TrainingOptions options, RecordingObserver observer)
    {
        var setup = fixture.Setup(options, observers: observer);
        TinyPolicy? companion = loss switch
        {
            "dpo" => new TinyPolicy(TrainingFixture.PromptWidth, 5).OnTestDevice(),
            "distill_kl" or "distill_fm_mse" => new TinyPolicy(TrainingFixture.PromptWidth, 9).OnTestDevice(),
            _ => null,
        };
        var policy = loss == "dpo" ? setup.Policy with { Reference = companion }
            : companion is not null ? setup.Policy with { Teacher = companion }
            : setup.Policy;
        return (setup with { Policy = policy }, companion);
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public async Task Every_update_path_trains_the_float32_masters_behind_a_bf16_model(string loss, string lossMetric)
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var (setup, companion) = Setup(fixture, loss, Options(loss, 2) with { Precision = TrainingPrecision.Bf16Mixed }, observer);
        using var owned = companion;
        using var trainer = FlowGrpoTrainer.Create(setup);
        Assert.All(fixture.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        if (companion is not null) Assert.All(companion.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var initial = trainer.Precision.Masters.ToDictionary(p => p.Name, p => p.Parameter.detach().cpu().data<float>().ToArray());

        await trainer.RunAsync();

        Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
        Assert.All(observer.Reports, r => Assert.True(r.Metrics["actor/optimizer_steps"] > 0, $"step {r.Step} made no optimizer update"));
        Assert.All(observer.Reports, r => Assert.True(double.IsFinite(r.Metrics[lossMetric]), $"{lossMetric} = {r.Metrics[lossMetric]}"));
        if (loss == "flow_dppo") Assert.All(observer.Reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
        var changed = 0;
        foreach (var (name, master) in trainer.Precision.Masters)
        {
            Assert.Equal(ScalarType.Float32, master.dtype);
            var compute = fixture.Model.named_parameters().Single(p => p.name == name).parameter;
            Assert.True(compute.to(ScalarType.Float32).Equals(master.to(ScalarType.BFloat16).to(ScalarType.Float32)), $"{name} is not the rounded master");
            if (!master.detach().cpu().data<float>().ToArray().SequenceEqual(initial[name])) changed++;
        }
        Assert.True(changed > 0, $"{loss}: no gradient reached the float32 masters");
        if (trainer.OldPolicy is { } old) Assert.All(old.Weights.Values, w => Assert.Equal(ScalarType.Float32, w.dtype));
    }

    [Theory]
    [InlineData("dpo", "micro-batch 0")]
    [InlineData("diffusion_nft", "timestep column 0 (micro-batch 0)")]
    public async Task A_model_emitting_NaN_in_the_update_never_reaches_the_weights(string loss, string place)
    {
        using var fixture = new TrainingFixture();
        // 2 chunks × 6 steps = 12 rollout forwards; after them only the update's predictions are NaN.
        fixture.Model.NaNAfterCalls = 12;
        var before = fixture.Model.Snapshot();
        var observer = new RecordingObserver();
        var (setup, companion) = Setup(fixture, loss, Options(loss, 1), observer);
        using var owned = companion;
        using (var trainer = FlowGrpoTrainer.Create(setup))
            await trainer.RunAsync();
        var report = Assert.Single(observer.Reports);
        Assert.Contains($"the loss is not finite at {place}", report.SkipReason);
        Assert.Equal(0, report.Metrics["actor/optimizer_steps"]);
        Assert.All(before, p => Assert.Equal(p.Value, fixture.Model.Snapshot()[p.Key]));
    }
}
