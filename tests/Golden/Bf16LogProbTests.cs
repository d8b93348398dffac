using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Models.Loading;
using Omni.Tests.Golden.Infrastructure;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// What bf16 compute costs the log-probabilities bf16-mixed training works with. For each tiny reference transformer, on
/// its stored inputs: one Flow-GRPO SDE step (η 0.7, step 3 of a 10-step SD3 schedule) taken with the float32 model's
/// prediction, then the same transition scored with the bfloat16 model's prediction. The difference is what the policy
/// ratio sees at the first update if the rollout ran in float32 and training in bf16 — which Omni never mixes: rollout and
/// training use the same compute dtype, so the first ratio stays exactly 1 (tests/Behaviour MixedPrecisionTests). The
/// figures are written in docs/performance.md.
/// </summary>
public sealed class Bf16LogProbTests(ITestOutputHelper output)
{
    /// <summary>Stated bound on |log p_bf16 − log p_float32| per sample on these models (measured at most 4.2e-5, sd3_tiny, on
    /// the CPU; see docs/performance.md).</summary>
    private const double Bound = 2e-4;

    public static TheoryData<string> Denoisers
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var m in ModelFixtures.Entries().Where(m => m.Class.Contains("Transformer"))) data.Add(m.Name);
            return data;
        }
    }

    [Theory, MemberData(nameof(Denoisers))]
    public void Bf16_compute_moves_the_log_prob_by_less_than_the_stated_bound(string name)
    {
        using var scope = NewDisposeScope();
        var model = ModelFixtures.Entry(name);
        var inputs = ModelFixtures.Inputs(model);
        var x = inputs.Tensor("hidden_states").to(ScalarType.Float32);
        Tensor Predict(ScalarType dtype)
        {
            var module = ModelFixtures.Implemented[model.Class].Build(File.ReadAllText(Path.Combine(model.Folder, "config.json")));
            WeightLoader.Load(module, Path.Combine(model.Folder, "diffusion_pytorch_model.safetensors"), strict: true);
            Omni.Models.Common.Precision.Cast(module, dtype);
            module.OnTestDevice().eval();
            using var noGrad = no_grad();
            return ((IDenoiser)module).Forward(inputs).to(ScalarType.Float32);
        }
        var state = FlowMatchSchedule.SetTimesteps(new SchedulerConfig { Shift = 3.0 }, 10).OrThrow();
        var noise = NoiseSource.Seeded(0).Draw(x.shape, device: x.device);
        var reference = SdeStep.Sample(state, SdeType.Sde, StepAt.Index(3), x, Predict(ScalarType.Float32), 0.7, NextSample.FromNoise(noise)).OrThrow();
        var bf16 = SdeStep.Sample(state, SdeType.Sde, StepAt.Index(3), x, Predict(ScalarType.BFloat16), 0.7, NextSample.PrevSample(reference.PrevSample)).OrThrow();
        var difference = (bf16.LogProb - reference.LogProb).abs().max().item<float>();
        var scale = reference.LogProb.abs().max().item<float>();
        output.WriteLine($"{name}: max |log p_bf16 − log p_fp32| = {difference:E3} (log-probs up to {scale:F3} in magnitude; ratio e^Δ − 1 = {Math.Exp(difference) - 1:E3})");
        Assert.True(difference <= Bound, $"{name}: bf16 moved the log-prob by {difference:E3} > {Bound}");
    }
}
