using Omni.Algebra.Devices;
using Omni.Effects.Safetensors;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Tests.Behaviour.Support;
using Omni.Training.Checkpoints;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Training;

/// <summary>
/// bf16-mixed training on the CPU: float32 masters behind a bfloat16 model, float32 log-probs, the first ratio still
/// exactly one, checkpoints and exports in float32, and a learnable reward still rises.
/// </summary>
public sealed class MixedPrecisionTests
{
    private static Omni.Training.Options.TrainingOptions Bf16(int steps) => TrainingFixture.Quick(steps) with { Precision = TrainingPrecision.Bf16Mixed };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_first_ratio_is_exactly_one_under_bf16_mixed(bool recompute)
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        var options = Bf16(3) with { InnerEpochs = 2, RecomputeOldLogProbs = recompute };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options, observers: observer));
        await trainer.RunAsync();
        Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
        Assert.All(observer.Reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
        Assert.Contains(observer.Reports, r => r.Metrics["actor/ratio_mean"] != 1.0);
        if (recompute) Assert.All(observer.Reports, r => Assert.Equal(0.0, r.Metrics["rollout/old_log_prob_mismatch"]));
    }

    [Fact]
    public async Task The_model_computes_in_bf16_while_masters_checkpoints_and_log_probs_stay_float32()
    {
        using var fixture = new TrainingFixture();
        var options = Bf16(2) with { CheckpointEvery = 2, EmaDecay = 0.9 };
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(options));
        Assert.All(fixture.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.All(trainer.Precision.Masters, p => Assert.Equal(ScalarType.Float32, p.Parameter.dtype));
        await trainer.RunAsync();
        // The model holds the masters rounded to bfloat16 after every update.
        foreach (var (name, master) in trainer.Precision.Masters)
        {
            var compute = fixture.Model.named_parameters().Single(p => p.name == name).parameter;
            Assert.True(compute.to(ScalarType.Float32).Equals(master.to(ScalarType.BFloat16).to(ScalarType.Float32)), $"{name} is not the rounded master");
        }
        using var file = SafetensorsFile.Open(Path.Combine(TrainingCheckpoint.Latest(fixture.RunDirectory)!, "trainable.safetensors"));
        Assert.All(file.Entries.Values, e => Assert.Equal(ScalarType.Float32, e.DType));
        using var trajectory = fixture.Pipeline.Rollout(fixture.Model, fixture.Prompts.PromptEmbeds, [1, 2, 3, 4]);
        Assert.Equal(ScalarType.Float32, trajectory.Latents.dtype);
        Assert.Equal(ScalarType.Float32, trajectory.LogProbs.dtype);
    }

    [Fact]
    public async Task The_reward_still_rises_under_bf16_mixed()
    {
        using var fixture = new TrainingFixture();
        var observer = new RecordingObserver();
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(Bf16(16), observers: observer));
        await trainer.RunAsync();
        var rewards = observer.Reports.Select(r => r.Metrics["reward/mean"]).ToArray();
        var (early, late) = (rewards.Take(4).Average(), rewards.TakeLast(4).Average());
        Assert.True(late > early + 0.05, $"reward should rise: first steps {early:F3}, last steps {late:F3} ({string.Join(", ", rewards.Select(r => r.ToString("F3")))})");
        Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
    }

    [Fact]
    public void Float32_weights_nest_so_an_export_inside_an_evaluation_leaves_the_evaluation_in_float32()
    {
        using var fixture = new TrainingFixture();
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(Bf16(1)));
        var afterInner = trainer.Precision.WithFloat32Weights(() =>
        {
            trainer.Precision.WithFloat32Weights(() => 0);   // the shapes job exports its LoRA inside its final evaluation
            return fixture.Model.parameters().Select(p => p.dtype).Distinct().ToArray();
        });
        Assert.Equal([ScalarType.Float32], afterInner);
        Assert.All(fixture.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }

    /// <summary>
    /// A frozen parameter (the base weight under LoRA, a fixed table) is cast to bfloat16 for compute like the rest, but
    /// evaluations and exports see it exactly as loaded, not its bfloat16 rounding.
    /// </summary>
    [Fact]
    public async Task Float32_weights_hold_frozen_parameters_exactly_as_loaded_not_their_bf16_rounding()
    {
        using var fixture = new TrainingFixture();
        var (frozenName, frozen) = fixture.Model.named_parameters().First();
        frozen.requires_grad = false;
        using var loaded = frozen.detach().cpu().clone();
        var offGrid = (loaded - loaded.to(ScalarType.BFloat16).to(ScalarType.Float32)).ne(0).sum().item<long>();
        Assert.True(offGrid > 0, $"{frozenName} is bfloat16-representable already; the test would prove nothing");
        using var trainer = FlowGrpoTrainer.Create(fixture.Setup(Bf16(1)));
        Assert.DoesNotContain(trainer.Precision.Masters, m => m.Name == frozenName);
        await trainer.RunAsync();
        var seen = trainer.Precision.WithFloat32Weights(() =>
            fixture.Model.named_parameters().Single(p => p.name == frozenName).parameter.detach().cpu().clone());
        using (seen)
            Assert.True(seen.Equals(loaded), $"{frozenName}: the float32 view holds {(seen - loaded).abs().max().item<float>():E2} away from the loaded values");
        Assert.Equal(ScalarType.BFloat16, fixture.Model.named_parameters().Single(p => p.name == frozenName).parameter.dtype);
    }

    [Fact]
    public async Task An_export_writes_the_float32_masters_and_leaves_the_model_in_bf16()
    {
        using var fixture = new TrainingFixture();
        using var run = OmniTraining.From(OmniPipeline.FromFolder(fixture.Pipeline.Config.Path)
                .WithAlgorithm("flow_grpo").WithSde(Omni.Algebra.Sde.SdeType.Sde, 0.7).WithSteps(6)
                .WithSize(TinyPolicy.Side, TinyPolicy.Side).WithConfig(c => c with { VaeScaleFactor = 1 })
                .WithAdapter(TinyAdapter.Architecture, "flow_grpo", TinyAdapter.Training, TinyPolicy.Rollout))
            .OnDevice(TestDevice.Backend.DeviceName)
            .WithModule(fixture.Model).WithDecoder(latents => latents.add(1).div(2).clamp(0, 1)).FullFineTuning()
            .WithPrompts(fixture.Prompts).WithReward(TrainingFixture.Redness)
            .WithOptions(Bf16(1)).WithPrecision(TrainingPrecision.Bf16Mixed).WithoutDefaultObservers()
            .WriteTo(fixture.RunDirectory).Build();
        await run.RunAsync();
        var path = run.Export(Path.Combine(fixture.RunDirectory, "export"));
        using var file = SafetensorsFile.Open(path);
        foreach (var (name, master) in run.Trainer.Precision.Masters)
        {
            using var written = file.Read(name);
            Assert.Equal(ScalarType.Float32, written.dtype);
            Assert.True(written.Equals(master.detach().cpu()), $"{name}: the export is not the master");
        }
        Assert.All(fixture.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }
}
