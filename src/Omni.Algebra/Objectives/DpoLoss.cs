using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// Diffusion-DPO (Wallace et al., 2024; registered as <c>dpo</c>) on adjacent (chosen, rejected) rows. With the
/// flow-matching target <c>noise − x₀</c>, per-sample errors <c>e = mean((v − target)²)</c> of the policy and of the frozen
/// reference, <c>Δ_w = e_θ(w) − e_ref(w)</c> and <c>Δ_l</c> likewise: <c>z = −½·β·(Δ_w − Δ_l)</c>,
/// <c>L = mean(−log σ(z))</c>. Refuses an odd batch, pairs that do not share a prompt uid, and a chosen reward below its
/// rejected one.
/// </summary>
public static class DpoLoss
{
    /// <summary>The loss as registered under <c>dpo</c>.</summary>
    public static DiffusionLoss Create() =>
        new DiffusionLoss("dpo", ["noise", "latent", "noise_pred"], ["ref_noise_pred", "sample_level_rewards"], Compute)
        {
            Flow = LossFlow.PairedPreference,
        };

    /// <summary>The refusal for a batch that is not a whole number of pairs (the reference's text).</summary>
    public const string OddBatch = "DPO loss expects an even batch of adjacent chosen/rejected pairs.";

    /// <summary>The refusal for a pair whose rows come from different prompts.</summary>
    public const string MixedPair = "DPO loss expects each adjacent chosen/rejected pair to share the same prompt uid.";

    /// <summary>The refusal for a pair whose chosen reward is below its rejected one.</summary>
    public const string RejectedAboveChosen = "DPO loss expects each chosen sample reward to be >= its rejected pair reward.";

    /// <summary>Computes the loss and its metrics, or the reference's refusal.</summary>
    public static Either<OmniError, LossResult> Compute(LossInputs inputs)
    {
        var rewards = inputs.Datum("sample_level_rewards");
        var scores = rewards.dim() > 1 ? rewards.squeeze(-1) : rewards;
        var rows = scores.shape[0];
        if (rows < 2 || rows % 2 != 0) return Left<OmniError, LossResult>(OmniError.Invalid(OddBatch));
        if (inputs.GroupIds is { } ids)
        {
            if (ids.Length < rows || Enumerable.Range(0, (int)rows / 2).Any(k => ids[2 * k] != ids[2 * k + 1]))
                return Left<OmniError, LossResult>(OmniError.Invalid(MixedPair));
        }
        using (no_grad())
        {
            if ((Chosen(scores) < Rejected(scores)).any().item<bool>())
                return Left<OmniError, LossResult>(OmniError.Invalid(RejectedAboveChosen));
        }

        var beta = inputs.Settings.DpoBeta;
        var target = inputs.Output("noise").to(ScalarType.Float32) - inputs.Output("latent").to(ScalarType.Float32);
        var modelError = (inputs.Output("noise_pred").to(ScalarType.Float32) - target).pow(2).flatten(1).mean([1]);
        var referenceError = (inputs.Datum("ref_noise_pred").detach().to(ScalarType.Float32) - target).pow(2).flatten(1).mean([1]);
        var winnerShift = Chosen(modelError) - Chosen(referenceError);
        var loserShift = Rejected(modelError) - Rejected(referenceError);
        var inside = -0.5 * beta * (winnerShift - loserShift);
        var loss = -nn.functional.logsigmoid(inside).mean();
        return new LossResult(loss, Metrics(loss, inside, winnerShift, loserShift, beta));
    }

    private static Tensor Chosen(Tensor t) => t.slice(0, 0, t.shape[0], 2);

    private static Tensor Rejected(Tensor t) => t.slice(0, 1, t.shape[0], 2);

    private static ImmutableDictionary<string, double> Metrics(Tensor loss, Tensor inside, Tensor winnerShift, Tensor loserShift, double beta)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var chosen = -0.5 * beta * winnerShift.detach();
        var rejected = -0.5 * beta * loserShift.detach();
        return ImmutableDictionary<string, double>.Empty
            .Add("actor/dpo_loss", loss.detach().item<float>())
            .Add("actor/implicit_acc", ((inside.detach() > 0).sum().to(ScalarType.Float32) / inside.shape[0]).item<float>())
            .Add("rewards/chosen", chosen.mean().item<float>())
            .Add("rewards/rejected", rejected.mean().item<float>())
            .Add("rewards/margins", (chosen - rejected).mean().item<float>());
    }
}
