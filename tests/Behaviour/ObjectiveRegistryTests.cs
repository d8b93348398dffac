using System.Collections.Immutable;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>Loss and advantage-estimator registries (the reference's loss and advantage-estimator registries) and the algorithm recipes.</summary>
public sealed class ObjectiveRegistryTests
{
    private static readonly ObjectiveRegistry Objectives = ObjectiveRegistry.Default;

    private static LossInputs Inputs(Dictionary<string, Tensor> output, Dictionary<string, Tensor> data) =>
        new(output.ToImmutableDictionary(), data.ToImmutableDictionary(), LossSettings.Default);

    private static Tensor Kl(Tensor mean, Tensor reference, Tensor std) =>
        Objectives.Compute("kl", Inputs(new() { ["prev_sample_mean"] = mean, ["std_dev_t"] = std }, new() { ["ref_prev_sample_mean"] = reference })).OrThrow().Loss;

    [Theory]
    [InlineData(4, 16, 3)]
    [InlineData(1, 64, 16)]
    [InlineData(8, 4, 8)]
    public void Kl_is_a_non_negative_scalar(int b, int s, int c)
    {
        using var scope = NewDisposeScope();
        var noise = NoiseSource.Seeded(b * 100 + s);
        var kl = Kl(noise.Draw([b, s, c]), noise.Draw([b, s, c]), noise.Draw([b, 1, 1]).abs() + 0.1);
        Assert.Empty(kl.shape);
        Assert.True(kl.item<float>() >= 0);
    }

    [Fact]
    public void Kl_is_zero_for_identical_means_and_grows_with_the_offset()
    {
        using var scope = NewDisposeScope();
        var mean = NoiseSource.Seeded(1).Draw([4, 16, 3]);
        var std = full(4, 1, 1, 0.5f);
        Assert.True(Math.Abs(Kl(mean, mean.clone(), std).item<float>()) <= 1e-6);
        Assert.True(Kl(mean + 10.0, mean, std).item<float>() > Kl(mean + 0.1, mean, std).item<float>());
    }

    [Fact]
    public void Built_in_losses_are_registered_and_an_unknown_name_lists_them()
    {
        foreach (var name in new[] { "flow_grpo", "dance_grpo", "flow_dppo", "grpo_guard", "dpo", "diffusion_nft", "kl", "distill_kl", "distill_fm_mse" })
            Assert.True(Objectives.Losses.Peek(name).IsSome, name);
        var error = Objectives.Losses.Get("nope").ErrorOf().IfNone(() => throw new Exception());
        Assert.Equal("ValueError", error.PythonEquivalent);
        Assert.Contains("Unsupported diffusion loss mode: nope. Supported modes are: [dance_grpo, diffusion_nft, distill_fm_mse, distill_kl, dpo, flow_dppo, flow_grpo, grpo_guard, kl]", error.Message);
    }

    [Fact]
    public void Missing_data_keys_are_named_with_the_available_ones()
    {
        using var scope = NewDisposeScope();
        var message = Objectives.Compute("flow_grpo", Inputs(new() { ["log_probs"] = zeros(4) }, new() { ["old_log_probs"] = zeros(4) }))
            .ErrorOf().IfNone(() => throw new Exception()).Message;
        foreach (var part in new[] { "flow_grpo", "Missing data keys", "advantages", "Available data keys", "old_log_probs" }) Assert.Contains(part, message);
    }

    [Fact]
    public void Missing_model_output_keys_are_named_with_the_available_ones()
    {
        using var scope = NewDisposeScope();
        var message = Objectives.Compute("kl", Inputs(new() { ["prev_sample_mean"] = zeros(4, 2) }, new() { ["ref_prev_sample_mean"] = zeros(4, 2) }))
            .ErrorOf().IfNone(() => throw new Exception()).Message;
        foreach (var part in new[] { "`kl`", "Missing model_output keys", "std_dev_t", "Available model_output keys", "prev_sample_mean" }) Assert.Contains(part, message);
        Assert.DoesNotContain("Missing data keys", message);
    }

    [Fact]
    public void A_custom_loss_is_retrievable_and_the_default_registry_is_untouched()
    {
        var custom = FlowGrpoLoss.Create("test_loss_cpu");
        var registry = Objectives.WithLoss(custom);
        Assert.Same(custom, registry.Losses.Get("test_loss_cpu").OrThrow());
        Assert.True(Objectives.Losses.Peek("test_loss_cpu").IsNone);
    }

    [Fact]
    public void Flow_grpo_returns_a_scalar_loss_and_its_metrics()
    {
        using var scope = NewDisposeScope();
        var noise = NoiseSource.Seeded(2);
        var old = noise.Draw([8]);
        var result = Objectives.Compute("dance_grpo", Inputs(new() { ["log_probs"] = old + 0.01 * noise.Draw([8]) },
            new() { ["old_log_probs"] = old, ["advantages"] = noise.Draw([8]) })).OrThrow();
        Assert.Empty(result.Loss.shape);
        foreach (var key in new[] { "actor/ppo_kl", "actor/pg_clipfrac", "actor/pg_clipfrac_higher", "actor/pg_clipfrac_lower" }) Assert.True(result.Metrics.ContainsKey(key), key);
    }

    [Fact]
    public void The_kl_metric_is_the_loss()
    {
        using var scope = NewDisposeScope();
        var noise = NoiseSource.Seeded(4);
        var result = Objectives.Compute("kl", Inputs(new() { ["prev_sample_mean"] = noise.Draw([4, 16, 3]), ["std_dev_t"] = full(4, 1, 1, 0.7f) },
            new() { ["ref_prev_sample_mean"] = noise.Draw([4, 16, 3]) })).OrThrow();
        Assert.Equal(result.Loss.item<float>(), result.Metrics["actor/kl_loss"]);
    }

    [Fact]
    public void Estimators_are_registered_and_re_registration_is_checked()
    {
        Assert.True(Objectives.Estimators.Peek("flow_grpo").IsSome);
        Assert.True(Objectives.Estimators.Peek("dance_grpo").IsSome);
        Assert.Contains("Unknown diffusion advantage estimator: nope", Objectives.Estimators.Get("nope").ErrorOf().IfNone(() => throw new Exception()).Message);
        var same = Objectives.Estimators.Get("flow_grpo").OrThrow();
        Assert.True(Objectives.WithEstimator(same).IsRight, "re-registering the same estimator is a no-op");
        var different = new AdvantageEstimator("flow_grpo", (r, _, _) => r);
        var conflict = Objectives.WithEstimator(different).ErrorOf().IfNone(() => throw new Exception());
        Assert.Contains("'flow_grpo' has already been registered", conflict.Message);
    }

    [Theory]
    [InlineData("flow_grpo", "flow_grpo", "flow_grpo")]
    [InlineData("mix_grpo", "flow_grpo", "flow_grpo")]
    [InlineData("dance_grpo", "dance_grpo", "dance_grpo")]
    [InlineData("grpo_guard", "flow_grpo", "grpo_guard")]
    [InlineData("flow_dppo", "flow_grpo", "flow_dppo")]
    [InlineData("dpo", "flow_grpo", "dpo")]
    [InlineData("diffusion_nft", "flow_grpo", "diffusion_nft")]
    [InlineData("distill_kl", "flow_grpo", "distill_kl")]
    [InlineData("distill_fm_mse", "flow_grpo", "distill_fm_mse")]
    public void Algorithms_resolve_to_their_estimator_and_loss_without_pinning(string algorithm, string estimator, string loss)
    {
        var (e, l) = Objectives.Resolve(algorithm).OrThrow();
        Assert.Equal(estimator, e.Name);
        Assert.Equal(loss, l.Name);
    }

    [Fact]
    public void An_algorithm_without_recipe_or_registration_fails_clearly()
    {
        var error = Objectives.Resolve("my_algo").ErrorOf().IfNone(() => throw new Exception());
        Assert.Contains("my_algo", error.Message);
        Assert.Contains("Supported", error.Message);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Group_advantages_centre_each_prompt_group(bool normalize, bool globalStd)
    {
        using var scope = NewDisposeScope();
        var rewards = tensor(new float[] { 1, 3, 0, 2 }).unsqueeze(1).expand(4, 5).contiguous();
        var advantages = GroupAdvantage.Compute(rewards, ["u0", "u0", "u1", "u1"], new AdvantageSettings { NormalizeByStd = normalize, GlobalStd = globalStd });
        Assert.Equal(new long[] { 4, 5 }, advantages.shape);
        if (!normalize)
            Assert.True(advantages.equal(tensor(new float[] { -1, 1, -1, 1 }).unsqueeze(1).expand(4, 5)).all().item<bool>());
        foreach (var rows in new[] { new long[] { 0, 1 }, [2, 3] })
            Assert.True(Math.Abs(advantages.index_select(0, tensor(rows)).mean().item<float>()) <= 1e-6);
    }
}
