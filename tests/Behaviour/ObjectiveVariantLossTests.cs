using System.Collections.Immutable;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>
/// The reference's CPU checks of Flow-DPPO, Diffusion-DPO and DiffusionNFT (VeRL-Omni's diffusion core-algorithm and registry CPU tests) that the golden values do not
/// already pin: the unclamped advantages and removal masks of Flow-DPPO, the reward-probability modes, the online pairing,
/// the input checks and the training flow each loss declares.
/// </summary>
public sealed class ObjectiveVariantLossTests
{
    private static readonly ObjectiveRegistry Objectives = ObjectiveRegistry.Default;

    private static LossInputs Inputs(Dictionary<string, Tensor> output, Dictionary<string, Tensor> data, LossSettings? settings = null) =>
        new(output.ToImmutableDictionary(), data.ToImmutableDictionary(), settings ?? LossSettings.Default);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Flow_dppo_masks_only_high_kl_updates_that_move_away_and_never_clamps_advantages(bool addKlCoefficient)
    {
        using var scope = NewDisposeScope();
        var logProb = log(tensor(new float[] { 1.2f, 0.8f, 1.2f, 0.8f }));
        var advantages = tensor(new float[] { 10, -10, -8, 8 });
        var oldMean = zeros(4, 2, 2, 2);
        var mean = full(4, 2, 2, 2, 0.2f);
        var settings = LossSettings.Default with { AddKlCoefficient = addKlCoefficient };
        Dictionary<string, Tensor> Output() => new()
        {
            ["log_probs"] = logProb, ["prev_sample_mean"] = mean, ["std_dev_t"] = full(4, 1, 1, 1, 0.5f), ["sqrt_dt"] = full(4, 0.5f),
        };
        Dictionary<string, Tensor> Data(Tensor a) => new() { ["old_log_probs"] = zeros(4), ["advantages"] = a, ["old_prev_sample_mean"] = oldMean };
        var result = Objectives.Compute("flow_dppo", Inputs(Output(), Data(advantages), settings)).OrThrow();
        // Rows 0 (r > 1, A > 0) and 1 (r < 1, A < 0) move away from the old policy; rows 2 and 3 move back and are kept.
        var expected = (-(-8f * 1.2f) - 8f * 0.8f) / 4;
        Assert.Equal(expected, result.Loss.item<float>(), 5);
        var clamped = Objectives.Compute("flow_dppo", Inputs(Output(), Data(advantages.clamp(-5, 5)), settings)).OrThrow();
        Assert.NotEqual(result.Loss.item<float>(), clamped.Loss.item<float>(), 3);
        Assert.Equal(0.25, result.Metrics["actor/pos_rm_fraction"]);
        Assert.Equal(0.25, result.Metrics["actor/neg_rm_fraction"]);
        Assert.Equal(0.5, result.Metrics["actor/masked_fraction"]);
        Assert.Equal(0.5, result.Metrics["actor/unmasked_fraction"]);
        Assert.True(result.Metrics.ContainsKey("actor/kl_new_old_mean"));
    }

    [Fact]
    public void Flow_dppo_names_a_missing_old_mean()
    {
        using var scope = NewDisposeScope();
        var message = Objectives.Compute("flow_dppo", Inputs(
                new() { ["log_probs"] = zeros(4), ["prev_sample_mean"] = zeros(4, 2), ["std_dev_t"] = ones(4, 1), ["sqrt_dt"] = ones(4) },
                new() { ["old_log_probs"] = zeros(4), ["advantages"] = zeros(4) }))
            .ErrorOf().IfNone(() => throw new Exception()).Message;
        Assert.Contains("flow_dppo", message);
        Assert.Contains("old_prev_sample_mean", message);
    }

    [Theory]
    [InlineData(AdvantageMode.Continuous, new float[] { 0, 0, 0.5f, 1, 1 })]
    [InlineData(AdvantageMode.OneOnly, new float[] { 0.5f, 0.5f, 0.5f, 0.6f, 0.6f })]
    [InlineData(AdvantageMode.Binary, new float[] { 0.4f, 0.4f, 0.5f, 0.6f, 0.6f })]
    public void Reward_probabilities_follow_the_advantage_mode(AdvantageMode mode, float[] expected)
    {
        using var scope = NewDisposeScope();
        var probability = NftBatchPreparation.RewardProbability(tensor(new float[] { -10, -5, 0, 5, 10 }), 5.0, mode);
        Assert.Equal(expected, probability.data<float>().ToArray(), new FloatClose(1e-6f));
    }

    [Fact]
    public void One_sided_modes_keep_their_side_of_one_half()
    {
        using var scope = NewDisposeScope();
        var advantages = tensor(new float[] { -10, -5, 0, 5, 10 });
        Assert.True((NftBatchPreparation.RewardProbability(advantages, 5, AdvantageMode.PositiveOnly) >= 0.5).all().item<bool>());
        Assert.True((NftBatchPreparation.RewardProbability(advantages, 5, AdvantageMode.NegativeOnly) <= 0.5).all().item<bool>());
        foreach (var mode in Enum.GetValues<AdvantageMode>())
            Assert.Equal(mode, NftBatchPreparation.ParseMode(mode.Name()));
        Assert.Null(NftBatchPreparation.ParseMode("sometimes"));
    }

    [Fact]
    public void Timestep_selection_keeps_a_fraction_of_each_row_from_its_own_timesteps()
    {
        using var scope = NewDisposeScope();
        var timesteps = tensor(new long[] { 1000, 900, 800, 700, 600, 500 }).unsqueeze(0).expand(4, 6).contiguous();
        using var generator = Generators.Seeded(42);
        var selected = NftBatchPreparation.SelectTrainTimesteps(timesteps, 0.5, generator);
        Assert.Equal(new long[] { 4, 3 }, selected.shape);
        Assert.Equal(ScalarType.Int64, selected.dtype);
        for (var b = 0; b < 4; b++)
        {
            var row = selected[b].data<long>().ToArray();
            Assert.Equal(3, row.Distinct().Count());
            Assert.All(row, t => Assert.Contains(t, new long[] { 1000, 900, 800, 700, 600, 500 }));
        }
    }

    [Fact]
    public void Online_pairing_puts_each_prompts_best_before_its_worst()
    {
        var selected = DpoPairing.Select(["p0", "p0", "p1", "p1"], [1.0f, 0.0f, 0.5f, 1.0f]);
        Assert.Equal(new[] { 0, 1, 3, 2 }, selected);
        Assert.Empty(DpoPairing.Select(["a", "b"], [1f, 2f]));
    }

    [Fact]
    public void Dpo_refuses_pairs_from_different_prompts()
    {
        using var scope = NewDisposeScope();
        var shape = new long[] { 4, 3 };
        var inputs = Inputs(new() { ["noise"] = ones(shape), ["latent"] = zeros(shape), ["noise_pred"] = zeros(shape) },
                            new() { ["ref_noise_pred"] = zeros(shape), ["sample_level_rewards"] = tensor(new float[] { 1, 0, 1, 0 }) })
                     with { GroupIds = ["a", "b", "c", "c"] };
        var error = Objectives.Compute("dpo", inputs).ErrorOf().IfNone(() => throw new Exception());
        Assert.Equal(DpoLoss.MixedPair, error.Message);
        Assert.True(Objectives.Compute("dpo", inputs with { GroupIds = ["a", "a", "c", "c"] }).IsRight);
    }

    [Fact]
    public void Diffusion_nft_returns_a_scalar_and_its_seven_metrics()
    {
        using var scope = NewDisposeScope();
        var noise = NoiseSource.Seeded(10);
        var x0 = noise.Draw([4, 4, 8, 8]);
        var t = full(4, 1, 1, 1, 0.5f);
        var xt = (1 - t) * x0 + t * noise.Draw([4, 4, 8, 8]);
        var result = Objectives.Compute("diffusion_nft", Inputs(
            new()
            {
                ["forward_prediction"] = noise.Draw([4, 4, 8, 8]), ["old_prediction"] = noise.Draw([4, 4, 8, 8]),
                ["ref_forward_prediction"] = noise.Draw([4, 4, 8, 8]), ["x0"] = x0, ["xt"] = xt, ["t_expanded"] = t,
            },
            new() { ["reward_prob"] = noise.Draw([4]).sigmoid() })).OrThrow();
        Assert.Empty(result.Loss.shape);
        foreach (var key in new[] { "actor/policy_loss", "actor/positive_loss", "actor/negative_loss", "actor/ref_kl_loss", "actor/old_deviate", "actor/reward_prob_mean", "actor/total_loss" })
            Assert.True(result.Metrics.ContainsKey(key), key);
    }

    [Theory]
    [InlineData("flow_grpo", LossFlow.ReverseTrajectory)]
    [InlineData("flow_dppo", LossFlow.ReverseTrajectory)]
    [InlineData("distill_kl", LossFlow.ReverseTrajectory)]
    [InlineData("distill_fm_mse", LossFlow.ReverseTrajectory)]
    [InlineData("dpo", LossFlow.PairedPreference)]
    [InlineData("diffusion_nft", LossFlow.ForwardProcess)]
    public void Each_loss_declares_the_flow_that_feeds_it(string name, LossFlow flow) =>
        Assert.Equal(flow, Objectives.Losses.Get(name).OrThrow().Flow);

    [Fact]
    public void Loss_settings_report_every_bad_key()
    {
        var errors = LossSettingsRules.Validate(LossSettings.Default with { MixBeta = 0, DpoBeta = -1, RefKlCoefficient = -0.1 })
            .Match(_ => [], e => e.Select(x => x.Message).ToList());
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, m => m.Contains("mix_beta"));
        Assert.Contains(errors, m => m.Contains("dpo_beta"));
        Assert.Contains(errors, m => m.Contains("ref_kl_coef"));
    }

    private sealed class FloatClose(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
