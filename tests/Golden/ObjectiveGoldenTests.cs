using System.Collections.Immutable;
using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Effects.Random;
using Omni.Tests.Golden.Infrastructure;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>objectives</c> suite: Flow-DPPO, Diffusion-DPO (values, gradients, refusals, online pairing), DiffusionNFT (loss and
/// its batch-preparation helpers) and the two distillation losses, through the default objective registry. Every case of
/// the manifest runs, whatever its id, with its own parameters (the registry's defaults where a case omits one); a case
/// whose <c>op</c> this suite does not know fails, and so does a case declaring anything its check does not read.
/// </summary>
[ChecksFixture("objectives")]
public sealed class ObjectiveGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("objectives");

    private static string OpOf(JsonElement c) => c.TryGetProperty("op", out var op) ? op.GetString()! : "(no op)";

    /// <summary>What each op checks, by the manifest's op name.</summary>
    private static readonly ImmutableDictionary<string, Action<GoldenCase>> Checks = new Dictionary<string, Action<GoldenCase>>
    {
        ["flow_dppo_loss"] = c => CheckLoss(c, "flow_dppo"),
        ["dpo_loss"] = c => CheckLoss(c, "dpo"),
        ["diffusion_nft_loss"] = c => CheckLoss(c, "diffusion_nft"),
        ["distill_kl_loss"] = c => CheckLoss(c, "distill_kl"),
        ["distill_fm_mse_loss"] = c => CheckLoss(c, "distill_fm_mse"),
        ["dpo_error"] = CheckDpoRefusal,
        ["dpo_pair_indices"] = CheckDpoPairs,
        ["nft_group_advantages"] = CheckNftAdvantages,
        ["nft_reward_prob"] = CheckRewardProbability,
        ["nft_select_train_timesteps"] = CheckTimestepSelection,
    }.ToImmutableDictionary();

    public static TheoryData<string> AllCases => Suite.Ids(_ => true);

    [Fact]
    public void Every_case_has_an_op_this_suite_runs()
        => Suite.AssertEveryCaseIsCovered(OpOf, [.. Checks.Keys]);

    [Theory, MemberData(nameof(AllCases))]
    public void Matches_the_reference(string id)
    {
        var op = OpOf(Suite.Raw(id));
        if (!Checks.TryGetValue(op, out var check))
            throw new XunitException($"{id}: unknown op '{op}'; this suite runs [{string.Join(", ", Checks.Keys.Order())}].");
        Suite.Check(id, c =>
        {
            using var scope = NewDisposeScope();
            check(c);
        });
    }

    /// <summary>The loss settings of a case: its own keys, the reference defaults for the rest.</summary>
    private static LossSettings Settings(GoldenCase c)
    {
        var d = LossSettings.Default;
        double Number(string key, double fallback) => c.Optional(key)?.GetDouble() ?? fallback;
        return new LossSettings
        {
            ClipRatio = Number("clip_ratio", d.ClipRatio),
            AdvantageClipMax = Number("adv_clip_max", d.AdvantageClipMax),
            KlMaskThreshold = Number("kl_mask_threshold", d.KlMaskThreshold),
            AddKlCoefficient = c.Optional("add_kl_coefficient")?.GetBoolean() ?? d.AddKlCoefficient,
            DpoBeta = Number("dpo_beta", d.DpoBeta),
            MixBeta = Number("mix_beta", d.MixBeta),
            AdaptiveWeightMin = Number("adaptive_weight_min", d.AdaptiveWeightMin),
            RefKlCoefficient = Number("ref_kl_coef", d.RefKlCoefficient),
        };
    }

    private static ImmutableArray<string> Strings(GoldenCase c, string key) =>
        [.. c[key].EnumerateArray().Select(e => e.GetString()!)];

    // The manifest's input names are the reference's compute_loss arguments; the registry's are its model-output and data keys.
    private static readonly ImmutableDictionary<string, string> ModelOutputKeys = new Dictionary<string, string>
    {
        ["log_prob"] = "log_probs", ["prev_sample_mean"] = "prev_sample_mean", ["std_dev_t"] = "std_dev_t", ["sqrt_dt"] = "sqrt_dt",
        ["noise"] = "noise", ["latent"] = "latent", ["noise_pred"] = "noise_pred",
        ["forward_prediction"] = "forward_prediction", ["old_prediction"] = "old_prediction", ["ref_forward_prediction"] = "ref_forward_prediction",
        ["x0"] = "x0", ["xt"] = "xt", ["t_expanded"] = "t_expanded",
    }.ToImmutableDictionary();

    private static readonly ImmutableDictionary<string, string> DataKeys = new Dictionary<string, string>
    {
        ["old_log_prob"] = "old_log_probs", ["advantages"] = "advantages", ["old_prev_sample_mean"] = "old_prev_sample_mean",
        ["rollout_is_weights"] = "rollout_is_weights", ["ref_noise_pred"] = "ref_noise_pred", ["sample_level_rewards"] = "sample_level_rewards",
        ["reward_prob"] = "reward_prob", ["teacher_prev_sample_mean"] = "teacher_prev_sample_mean", ["teacher_noise_pred"] = "teacher_noise_pred",
    }.ToImmutableDictionary();

    private static void CheckLoss(GoldenCase c, string loss)
    {
        var id = c.Id;
        var outputs = ImmutableDictionary.CreateBuilder<string, Tensor>();
        var data = ImmutableDictionary.CreateBuilder<string, Tensor>();
        var gradients = new Dictionary<string, Tensor>();
        foreach (var name in c["inputs"].EnumerateObject().Select(p => p.Name).ToList())
        {
            var tensor = c.Input(name);
            if (c.Declares("outputs", "grad_" + name))
            {
                tensor.requires_grad_(true);
                gradients[name] = tensor;
            }
            if (ModelOutputKeys.TryGetValue(name, out var outputKey)) outputs[outputKey] = tensor;
            else if (DataKeys.TryGetValue(name, out var dataKey)) data[dataKey] = tensor;
            else throw new XunitException($"{id}: input '{name}' is neither a model output nor a data key of the registry.");
        }
        var lossInputs = new LossInputs(outputs.ToImmutable(), data.ToImmutable(), Settings(c))
        {
            GroupIds = c.Has("index") ? Strings(c, "index") : null,
        };
        var result = ObjectiveRegistry.Default.Compute(loss, lossInputs).OrThrow();

        TensorAssert.Close(result.Loss.reshape(1), c.Output("loss"), TensorAssert.Reduced, id + " loss");
        result.Loss.backward();
        // An input the loss reaches by no differentiable path (Flow-DPPO's mean enters only the detached mask) has gradient
        // zero, which is how the reference stores it.
        foreach (var (name, tensor) in gradients)
            TensorAssert.Close(tensor.grad ?? zeros_like(tensor), c.Output("grad_" + name), TensorAssert.Reduced, $"{id} d/d {name}");
        // A reference gradient for an input the case does not give is left unread, and so fails the case.
        foreach (var metric in c["metrics"].EnumerateObject())
        {
            Assert.True(result.Metrics.ContainsKey(metric.Name), $"{id}: metric {metric.Name} is not logged");
            var expected = metric.Value.GetDouble();
            var actual = result.Metrics[metric.Name];
            Assert.True(Math.Abs(actual - expected) <= TensorAssert.Reduced * Math.Max(1e-3, Math.Abs(expected)),
                $"{id}: {metric.Name} = {actual:R}, reference {expected:R}");
        }
    }

    private static void CheckDpoRefusal(GoldenCase c)
    {
        var id = c.Id;
        c.NotUsed("case", "a label naming what the refused input gets wrong; the error compared below is what matters");
        var rewards = c["sample_level_rewards"].EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var batch = c.Int("batch");
        Assert.Equal(rewards.Length, batch);
        var shape = new long[] { batch, 2, 3 };
        var outputs = ImmutableDictionary<string, Tensor>.Empty
            .Add("noise", ones(shape)).Add("latent", zeros(shape)).Add("noise_pred", full(shape, 0.5f));
        var data = ImmutableDictionary<string, Tensor>.Empty.Add("ref_noise_pred", zeros(shape)).Add("sample_level_rewards", tensor(rewards));
        var refusal = ObjectiveRegistry.Default.Compute("dpo", new LossInputs(outputs, data, Settings(c))).ErrorOf()
            .IfNone(() => throw new XunitException($"{id}: the loss accepted what the reference refuses"));
        var expected = c["error"];
        Assert.Equal(expected.GetProperty("type").GetString(), refusal.PythonEquivalent);
        Assert.Equal(expected.GetProperty("message").GetString(), refusal.Message);
    }

    private static void CheckDpoPairs(GoldenCase c)
    {
        var scores = c.Input("scores").to(ScalarType.Float32).data<float>().ToArray();
        var selected = DpoPairing.Select(Strings(c, "uids"), scores);
        var expected = c["selected_indices"].EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.True(expected.SequenceEqual(selected), $"{c.Id}: selected [{string.Join(", ", selected)}], reference [{string.Join(", ", expected)}]");
    }

    private static void CheckNftAdvantages(GoldenCase c)
    {
        var settings = new AdvantageSettings
        {
            Epsilon = c.Optional("epsilon")?.GetDouble() ?? 1e-4,
            NormalizeByStd = c.Bool("norm_by_std"),
            GlobalStd = c.Bool("global_std"),
        };
        var advantages = NftBatchPreparation.GroupAdvantages(c.Input("rewards"), Strings(c, "uid"), settings);
        TensorAssert.Close(advantages, c.Output("advantages"), TensorAssert.Reduced, c.Id);
    }

    private static void CheckRewardProbability(GoldenCase c)
    {
        var name = c.String("adv_mode");
        var mode = NftBatchPreparation.ParseMode(name) ?? throw new XunitException($"{c.Id}: unknown adv_mode '{name}'");
        var probability = NftBatchPreparation.RewardProbability(c.Input("advantages"), c.Double("adv_clip_max"), mode);
        TensorAssert.Close(probability, c.Output("reward_prob"), TensorAssert.Elementwise, c.Id);
    }

    private static void CheckTimestepSelection(GoldenCase c)
    {
        using var generator = Generators.Seeded(c.Long("seed"));
        var selected = NftBatchPreparation.SelectTrainTimesteps(c.Input("train_timesteps"), c.Double("timestep_fraction"), generator);
        TensorAssert.Identical(selected, c.Output("selected"), c.Id);
    }
}
