using System.Collections.Immutable;
using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>algorithms</c> suite: the group-normalised advantage, the Flow-GRPO and GRPO-Guard losses and the KL
/// regulariser — values, gradients and logged metrics — through the default objective registry.
/// </summary>
public sealed class AlgorithmGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("algorithms");

    private static string KindOf(JsonElement c) => c.TryGetProperty("op", out var op) ? op.GetString()! : "unknown";

    public static TheoryData<string> AdvantageCases => Suite.Ids(c => KindOf(c) == "flow_grpo_advantage");
    public static TheoryData<string> LossCases => Suite.Ids(c => KindOf(c) is "flow_grpo_loss" or "grpo_guard_loss" or "kl_loss");

    [Fact]
    public void Every_case_is_covered_by_a_test()
        => Suite.AssertEveryCaseIsCovered(KindOf, "flow_grpo_advantage", "flow_grpo_loss", "grpo_guard_loss", "kl_loss");

    [Theory, MemberData(nameof(AdvantageCases))]
    public void Group_advantages_match_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var settings = new AdvantageSettings
        {
            Epsilon = c.GetProperty("epsilon").GetDouble(),
            NormalizeByStd = c.GetProperty("norm_adv_by_std_in_grpo").GetBoolean(),
            GlobalStd = c.GetProperty("global_std").GetBoolean(),
        };
        var index = c.GetProperty("index").EnumerateArray().Select(e => e.GetString()!).ToList();
        var estimator = ObjectiveRegistry.Default.Estimators.Get("flow_grpo").OrThrow();
        var advantages = estimator.Compute(Suite.Tensor(c, "inputs", "rewards"), index, settings);
        TensorAssert.Close(advantages, Suite.Tensor(c, "outputs", "advantages"), TensorAssert.Reduced, id);
    }

    [Theory, MemberData(nameof(LossCases))]
    public void Losses_gradients_and_metrics_match_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var inputs = c.GetProperty("inputs");
        Tensor? Input(string name) => inputs.TryGetProperty(name, out var key) ? Suite.Tensor(key.GetString()!) : null;
        var settings = new LossSettings
        {
            ClipRatio = c.TryGetProperty("clip_ratio", out var clip) ? clip.GetDouble() : LossSettings.Default.ClipRatio,
            AdvantageClipMax = c.TryGetProperty("adv_clip_max", out var adv) ? adv.GetDouble() : LossSettings.Default.AdvantageClipMax,
        };
        var logProb = Input("log_prob")?.requires_grad_(true);
        var mean = Input("prev_sample_mean")?.requires_grad_(true);
        var modelOutput = new Dictionary<string, Tensor?>
        {
            ["log_probs"] = logProb, ["prev_sample_mean"] = mean, ["std_dev_t"] = Input("std_dev_t"), ["sqrt_dt"] = Input("sqrt_dt"),
        };
        var data = new Dictionary<string, Tensor?>
        {
            ["old_log_probs"] = Input("old_log_prob"), ["advantages"] = Input("advantages"), ["rollout_is_weights"] = Input("rollout_is_weights"),
            ["old_prev_sample_mean"] = Input("old_prev_sample_mean"), ["ref_prev_sample_mean"] = Input("ref_prev_sample_mean"),
        };
        var lossInputs = new LossInputs(Present(modelOutput), Present(data), settings);
        var name = KindOf(c) switch { "flow_grpo_loss" => "flow_grpo", "grpo_guard_loss" => "grpo_guard", _ => "kl" };
        var result = ObjectiveRegistry.Default.Compute(name, lossInputs).OrThrow();

        TensorAssert.Close(result.Loss.reshape(1), Suite.Tensor(c, "outputs", "loss"), TensorAssert.Reduced, id + " loss");
        result.Loss.backward();
        var outputs = c.GetProperty("outputs");
        if (outputs.TryGetProperty("grad_log_prob", out _))
            TensorAssert.Close(logProb!.grad!, Suite.Tensor(c, "outputs", "grad_log_prob"), TensorAssert.Reduced, id + " d/d log_prob");
        if (outputs.TryGetProperty("grad_prev_sample_mean", out _))
            TensorAssert.Close(mean!.grad!, Suite.Tensor(c, "outputs", "grad_prev_sample_mean"), TensorAssert.Reduced, id + " d/d prev_sample_mean");
        foreach (var metric in c.GetProperty("metrics").EnumerateObject())
        {
            Assert.True(result.Metrics.ContainsKey(metric.Name), $"{id}: metric {metric.Name} is not logged");
            var expected = metric.Value.GetDouble();
            var actual = result.Metrics[metric.Name];
            Assert.True(Math.Abs(actual - expected) <= TensorAssert.Reduced * Math.Max(1e-3, Math.Abs(expected)),
                $"{id}: {metric.Name} = {actual:R}, reference {expected:R}");
        }
    }

    private static ImmutableDictionary<string, Tensor> Present(Dictionary<string, Tensor?> values) =>
        values.Where(p => p.Value is not null).ToImmutableDictionary(p => p.Key, p => p.Value!);
}
