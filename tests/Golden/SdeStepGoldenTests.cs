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
[ChecksFixture("sde_steps")]
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
    public void Sample_previous_step_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var state = ManifestReading.State(c);
        c.NotUsed("schedule", "a label for the scheduler_config preset, which is read");
        var type = SdeTypes.Parse(c.String("sde_type")).OrThrow();
        var sample = c.Input("sample");
        var modelOutput = c.Input("model_output").requires_grad_(true);
        Assert.Equal(c.Longs("shape"), sample.shape);
        var mode = c.String("mode");
        var (at, next) = mode switch
        {
            "given" => (StepAt.Index(c.Int("step_index")), NextSample.PrevSample(c.Input("prev_sample"))),
            "seeded" => (StepAt.Index(c.Int("step_index")), NextSample.FromNoise(NoiseSource.Seeded(c.Long("noise_seed")).Draw(sample.shape))),
            "seeded_list" => (StepAt.Index(c.Int("step_index")), NextSample.FromNoise(NoiseSource.PerSample(c.Longs("noise_seeds")).Draw(sample.shape))),
            "per_sample_t" => (StepAt.Timesteps(PerSampleTimesteps(c, state)), NextSample.PrevSample(c.Input("prev_sample"))),
            _ => throw new NotSupportedException($"{id}: unknown mode {mode}"),
        };

        using var result = SdeStep.Sample(state, type, at, sample, modelOutput, c.Double("noise_level"), next, c.Bool("include_logprob_normalizer")).OrThrow();

        TensorAssert.Close(result.PrevSample, c.Output("prev_sample"), TensorAssert.Elementwise, id + " prev_sample");
        TensorAssert.Close(result.PrevSampleMean, c.Output("prev_sample_mean"), TensorAssert.Elementwise, id + " prev_sample_mean");
        TensorAssert.Close(result.StdDevT, c.Output("std_dev_t"), TensorAssert.Elementwise, id + " std_dev_t");
        TensorAssert.Close(result.SqrtDt, c.Output("sqrt_dt"), TensorAssert.Elementwise, id + " sqrt_dt");
        TensorAssert.Close(result.LogProb, c.Output("log_prob"), TensorAssert.Reduced, id + " log_prob");
        if (c.Declares("outputs", "grad_log_prob_sum_wrt_model_output"))
        {
            result.LogProb.sum().backward();
            TensorAssert.Close(modelOutput.grad!, c.Output("grad_log_prob_sum_wrt_model_output"), TensorAssert.Reduced, id + " gradient");
        }
    });

    /// <summary>The per-sample timesteps, each located in the schedule at the step the case says it is.</summary>
    private static Tensor PerSampleTimesteps(GoldenCase c, Omni.Algebra.Schedules.SchedulerState state)
    {
        var timesteps = c.Input("timestep");
        var located = timesteps.data<float>().ToArray().Select(t => (long)Omni.Algebra.Schedules.TimestepIndex.Of(state, t).OrThrow()).ToArray();
        Assert.Equal(c.Longs("step_indices"), located);
        c.NotUsed("step_index", "with per-sample timesteps each sample's step comes from its timestep (step_indices, checked above)");
        return timesteps;
    }

    [Theory, MemberData(nameof(LoopCases))]
    public void Stateful_step_loop_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var expectedLatents = c.Output("latents");
        var expectedLogProbs = c.Output("log_probs");
        var shape = new[] { expectedLatents.shape[0] }.Concat(expectedLatents.shape.Skip(2)).ToArray();

        var scheduler = new FlowMatchSdeScheduler(ManifestReading.Config(c));
        scheduler.SetTimesteps(ManifestReading.Request(c));
        var inputs = NoiseSource.Seeded(c.Long("model_output_seed"));
        var latents = inputs.Draw(shape);
        var all = new List<Tensor> { latents };
        var logProbs = new List<Tensor>();
        var stepSeedBase = c.Long("base");
        c.NotUsed("note", "prose describing the draws this test makes");
        foreach (var t in scheduler.State.Timesteps)
        {
            var modelOutput = inputs.Draw(shape);
            var result = scheduler.Step(modelOutput, t, latents, Generators.Seeded((long)t + stepSeedBase));
            latents = result.PrevSample;
            all.Add(latents);
            logProbs.Add(result.LogProb);
        }
        TensorAssert.Close(stack(all, 1), expectedLatents, TensorAssert.Elementwise, id + " latents");
        TensorAssert.Close(stack(logProbs, 1), expectedLogProbs, TensorAssert.Reduced, id + " log_probs");
    });

    [Theory, MemberData(nameof(ErrorCases))]
    public void Integer_timesteps_are_rejected_like_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var scheduler = new FlowMatchSdeScheduler(new Omni.Algebra.Schedules.SchedulerConfig { Shift = 3.0 }).SetTimesteps(4);
        var x = zeros(1, 4);
        var expected = c.String("message");
        var fromInt = Assert.Throws<OmniException>(() => scheduler.Step(x, 3, x, Generators.Seeded(0)));
        var fromTensor = Assert.Throws<OmniException>(() => scheduler.Step(x, tensor(3L), x, Generators.Seeded(0)));
        var expectedType = c.String("error");
        foreach (var error in new[] { fromInt, fromTensor })
        {
            Assert.Contains(expected, error.Message);
            Assert.Equal(expectedType, error.Errors[0].PythonEquivalent);
        }
    });
}
