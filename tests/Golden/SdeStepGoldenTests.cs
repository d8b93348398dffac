using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Facade.Scheduling;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>sde_steps</c> suite: VeRL-Omni's <c>sample_previous_step</c> for every sampler, mode, noise
/// level and step, including the gradient of <c>log_prob.sum()</c>; the stateful <c>step()</c> loop; and
/// the integer-timestep error.
/// </summary>
public sealed class SdeStepGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("sde_steps");

    private static string KindOf(JsonElement c) =>
        c.TryGetProperty("op", out var op) ? op.GetString()!
        : c.TryGetProperty("error", out _) ? "error"
        : c.TryGetProperty("sde_type", out _) ? "sample_previous_step"
        : "unknown";

    public static TheoryData<string> StepCases => Suite.Ids(c => KindOf(c) == "sample_previous_step");
    public static TheoryData<string> LoopCases => Suite.Ids(c => KindOf(c) == "step_loop");
    public static TheoryData<string> ErrorCases => Suite.Ids(c => KindOf(c) == "error");

    [Fact]
    public void Every_case_is_covered_by_a_test()
        => Suite.AssertEveryCaseIsCovered(KindOf, "sample_previous_step", "step_loop", "error");

    [Theory, MemberData(nameof(StepCases))]
    public void Sample_previous_step_matches_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var state = ManifestReading.State(c);
        var type = SdeTypes.Parse(c.GetProperty("sde_type").GetString()!).OrThrow();
        var sample = Suite.Tensor(c, "inputs", "sample");
        var modelOutput = Suite.Tensor(c, "inputs", "model_output").requires_grad_(true);
        var shape = sample.shape;
        var mode = c.GetProperty("mode").GetString();
        var (at, next) = mode switch
        {
            "given" => (StepAt.At(c.GetProperty("step_index").GetInt32()), NextSample.Known(Suite.Tensor(c, "inputs", "prev_sample"))),
            "seeded" => (StepAt.At(c.GetProperty("step_index").GetInt32()),
                         NextSample.WithNoise(NoiseSource.Seeded(c.GetProperty("noise_seed").GetInt64()).Draw(shape, device: TestDevice.Device))),
            "seeded_list" => (StepAt.At(c.GetProperty("step_index").GetInt32()),
                              NextSample.WithNoise(NoiseSource.PerSample(ManifestReading.Longs(c, "noise_seeds")).Draw(shape, device: TestDevice.Device))),
            "per_sample_t" => (StepAt.Timesteps(Suite.Tensor(c, "inputs", "timestep")), NextSample.Known(Suite.Tensor(c, "inputs", "prev_sample"))),
            _ => throw new NotSupportedException($"{id}: unknown mode {mode}"),
        };

        using var result = SdeStep.Sample(state, type, at, sample, modelOutput, c.GetProperty("noise_level").GetDouble(), next,
            c.GetProperty("include_logprob_normalizer").GetBoolean()).OrThrow();

        var outputs = c.GetProperty("outputs");
        TensorAssert.Close(result.PrevSample, Suite.Tensor(c, "outputs", "prev_sample"), TensorAssert.Elementwise, id + " prev_sample");
        TensorAssert.Close(result.PrevSampleMean, Suite.Tensor(c, "outputs", "prev_sample_mean"), TensorAssert.Elementwise, id + " prev_sample_mean");
        TensorAssert.Close(result.StdDevT, Suite.Tensor(c, "outputs", "std_dev_t"), TensorAssert.Elementwise, id + " std_dev_t");
        TensorAssert.Close(result.SqrtDt, Suite.Tensor(c, "outputs", "sqrt_dt"), TensorAssert.Elementwise, id + " sqrt_dt");
        TensorAssert.Close(result.LogProb, Suite.Tensor(c, "outputs", "log_prob"), TensorAssert.Reduced, id + " log_prob");
        if (outputs.TryGetProperty("grad_log_prob_sum_wrt_model_output", out _))
        {
            result.LogProb.sum().backward();
            TensorAssert.Close(modelOutput.grad!, Suite.Tensor(c, "outputs", "grad_log_prob_sum_wrt_model_output"), TensorAssert.Reduced, id + " gradient");
        }
    }

    [Theory, MemberData(nameof(LoopCases))]
    public void Stateful_step_loop_matches_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var expectedLatents = Suite.Tensor(c, "outputs", "latents");
        var expectedLogProbs = Suite.Tensor(c, "outputs", "log_probs");
        var shape = new[] { expectedLatents.shape[0] }.Concat(expectedLatents.shape.Skip(2)).ToArray();

        var scheduler = new FlowMatchSdeScheduler(ManifestReading.Config(c));
        scheduler.SetTimesteps(ManifestReading.Request(c));
        var inputs = NoiseSource.Seeded(c.GetProperty("model_output_seed").GetInt64());
        var latents = inputs.Draw(shape, device: TestDevice.Device);
        var all = new List<Tensor> { latents };
        var logProbs = new List<Tensor>();
        var stepSeedBase = c.GetProperty("base").GetInt64();
        foreach (var t in scheduler.State.Timesteps)
        {
            var modelOutput = inputs.Draw(shape, device: TestDevice.Device);
            var result = scheduler.Step(modelOutput, t, latents, Generators.Seeded((long)t + stepSeedBase));
            latents = result.PrevSample;
            all.Add(latents);
            logProbs.Add(result.LogProb);
        }
        TensorAssert.Close(stack(all, 1), expectedLatents, TensorAssert.Elementwise, id + " latents");
        TensorAssert.Close(stack(logProbs, 1), expectedLogProbs, TensorAssert.Reduced, id + " log_probs");
    }

    [Theory, MemberData(nameof(ErrorCases))]
    public void Integer_timesteps_are_rejected_like_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var scheduler = new FlowMatchSdeScheduler(new Omni.Algebra.Schedules.SchedulerConfig { Shift = 3.0 }).SetTimesteps(4);
        var x = zeros(1, 4);
        var expected = c.GetProperty("message").GetString()!;
        var fromInt = Assert.Throws<OmniException>(() => scheduler.Step(x, 3, x, Generators.Seeded(0)));
        var fromTensor = Assert.Throws<OmniException>(() => scheduler.Step(x, tensor(3L), x, Generators.Seeded(0)));
        foreach (var error in new[] { fromInt, fromTensor })
        {
            Assert.Contains(expected, error.Message);
            Assert.Equal(c.GetProperty("error").GetString(), error.Errors[0].PythonEquivalent);
        }
    }
}
