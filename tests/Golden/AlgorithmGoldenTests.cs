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
[ChecksFixture("algorithms")]
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
    public void Group_advantages_match_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var settings = new AdvantageSettings
        {
            Epsilon = c.Double("epsilon"),
            NormalizeByStd = c.Bool("norm_adv_by_std_in_grpo"),
            GlobalStd = c.Bool("global_std"),
        };
        var index = c["index"].EnumerateArray().Select(e => e.GetString()!).ToList();
        var estimator = ObjectiveRegistry.Default.Estimators.Get("flow_grpo").OrThrow();
        var advantages = estimator.Compute(c.Input("rewards"), index, settings);
        TensorAssert.Close(advantages, c.Output("advantages"), TensorAssert.Reduced, id);
    });

    [Theory, MemberData(nameof(LossCases))]
    public void Losses_gradients_and_metrics_match_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var settings = new LossSettings
        {
            ClipRatio = c.Optional("clip_ratio")?.GetDouble() ?? LossSettings.Default.ClipRatio,
            AdvantageClipMax = c.Optional("adv_clip_max")?.GetDouble() ?? LossSettings.Default.AdvantageClipMax,
        };
        var logProb = c.OptionalInput("log_prob")?.requires_grad_(true);
        var mean = c.OptionalInput("prev_sample_mean")?.requires_grad_(true);
        var modelOutput = new Dictionary<string, Tensor?>
        {
            ["log_probs"] = logProb, ["prev_sample_mean"] = mean, ["std_dev_t"] = c.OptionalInput("std_dev_t"), ["sqrt_dt"] = c.OptionalInput("sqrt_dt"),
        };
        var data = new Dictionary<string, Tensor?>
        {
            ["old_log_probs"] = c.OptionalInput("old_log_prob"), ["advantages"] = c.OptionalInput("advantages"),
            ["rollout_is_weights"] = c.OptionalInput("rollout_is_weights"),
            ["old_prev_sample_mean"] = c.OptionalInput("old_prev_sample_mean"), ["ref_prev_sample_mean"] = c.OptionalInput("ref_prev_sample_mean"),
        };
        var lossInputs = new LossInputs(Present(modelOutput), Present(data), settings);
        var name = KindOf(Suite.Raw(id)) switch { "flow_grpo_loss" => "flow_grpo", "grpo_guard_loss" => "grpo_guard", _ => "kl" };
        var result = ObjectiveRegistry.Default.Compute(name, lossInputs).OrThrow();

        TensorAssert.Close(result.Loss.reshape(1), c.Output("loss"), TensorAssert.Reduced, id + " loss");
        result.Loss.backward();
        // Gradients are optional outputs: compared whenever the case declares them (and a declared one for an input the
        // case does not give fails here rather than being skipped).
        if (c.Declares("outputs", "grad_log_prob"))
            TensorAssert.Close(Gradient(logProb, "log_prob"), c.Output("grad_log_prob"), TensorAssert.Reduced, id + " d/d log_prob");
        if (c.Declares("outputs", "grad_prev_sample_mean"))
            TensorAssert.Close(Gradient(mean, "prev_sample_mean"), c.Output("grad_prev_sample_mean"), TensorAssert.Reduced, id + " d/d prev_sample_mean");
        foreach (var metric in c["metrics"].EnumerateObject())
        {
            Assert.True(result.Metrics.ContainsKey(metric.Name), $"{id}: metric {metric.Name} is not logged");
            var expected = metric.Value.GetDouble();
            var actual = result.Metrics[metric.Name];
            Assert.True(Math.Abs(actual - expected) <= TensorAssert.Reduced * Math.Max(1e-3, Math.Abs(expected)),
                $"{id}: {metric.Name} = {actual:R}, reference {expected:R}");
        }
    });

    private static Tensor Gradient(Tensor? input, string name) =>
        input?.grad ?? throw new Xunit.Sdk.XunitException($"the case declares the gradient for '{name}' but the loss received no such input, or it got no gradient");

    private static ImmutableDictionary<string, Tensor> Present(Dictionary<string, Tensor?> values) =>
        values.Where(p => p.Value is not null).ToImmutableDictionary(p => p.Key, p => p.Value!);
}
