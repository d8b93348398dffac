using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// Flow-DPPO (registered as <c>flow_dppo</c>): the unclipped policy gradient <c>−A·r</c>, <c>r = exp(log p − log p_old)</c>,
/// with PPO's ratio clipping replaced by a trust-region mask on the exact Gaussian KL between the new and old reverse-SDE
/// steps, <c>KL_b = mean((μ_θ − μ_old)²/(2·(std_dev_t·√−dt)²))</c> (or <c>/2</c> without <c>add_kl_coefficient</c>). A sample
/// is dropped only when <c>KL_b ≥ kl_mask_threshold</c> and the update moves it further from the old policy
/// (<c>r &gt; 1, A &gt; 0</c> or <c>r &lt; 1, A &lt; 0</c>). Advantages are not clamped.
/// </summary>
public static class FlowDppoLoss
{
    /// <summary>The loss as registered under <c>flow_dppo</c>.</summary>
    public static DiffusionLoss Create() => DiffusionLoss.Total("flow_dppo",
        ["log_probs", "prev_sample_mean", "std_dev_t", "sqrt_dt"], ["old_log_probs", "advantages", "old_prev_sample_mean"], Compute);

    /// <summary>Computes the loss and the reference's thirteen metrics for one trained step.</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var logProb = inputs.Output("log_probs");
        var mean = inputs.Output("prev_sample_mean");
        var std = inputs.Output("std_dev_t");
        var oldLogProb = inputs.Datum("old_log_probs").detach();
        var oldMean = inputs.Datum("old_prev_sample_mean").detach();
        var advantages = inputs.Datum("advantages").detach();
        var settings = inputs.Settings;

        var logRatio = logProb - oldLogProb;
        var ratio = logRatio.exp();
        var unclipped = -advantages * ratio;

        var shift = (mean - oldMean).pow(2);
        var klPerElement = settings.AddKlCoefficient
            ? shift / (2 * (std * BroadcastLike(inputs.Output("sqrt_dt"), std)).pow(2))
            : shift / 2;
        var klPerSample = klPerElement.dim() > 1 ? klPerElement.mean([.. Enumerable.Range(1, (int)klPerElement.dim() - 1).Select(d => (long)d)]) : klPerElement;

        var highKl = klPerSample >= settings.KlMaskThreshold;
        var positiveRemoved = highKl & (ratio > 1.0) & (advantages > 0);
        var negativeRemoved = highKl & (ratio < 1.0) & (advantages < 0);
        var removed = positiveRemoved | negativeRemoved;
        var keep = removed.logical_not().detach();
        var perSample = where(keep, unclipped, zeros([], unclipped.dtype, unclipped.device));
        if (inputs.OptionalDatum("rollout_is_weights") is { } weights) perSample = perSample * weights.detach();
        var loss = perSample.mean();
        return new LossResult(loss, Metrics(logRatio, ratio, klPerSample, highKl, positiveRemoved, negativeRemoved, removed, keep));
    }

    /// <summary><c>√−dt</c> (B,) or 0-d reshaped to the rank of <paramref name="target"/>, as the reference broadcasts it.</summary>
    private static Tensor BroadcastLike(Tensor sqrtDt, Tensor target)
    {
        var shape = new long[Math.Max(1, (int)target.dim())];
        System.Array.Fill(shape, 1L);
        shape[0] = sqrtDt.dim() == 0 ? 1 : sqrtDt.shape[0];
        return sqrtDt.reshape(shape);
    }

    private static ImmutableDictionary<string, double> Metrics(Tensor logRatio, Tensor ratio, Tensor klPerSample, Tensor highKl,
        Tensor positiveRemoved, Tensor negativeRemoved, Tensor removed, Tensor keep)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var lr = logRatio.detach();
        var r = ratio.detach();
        var kl = klPerSample.detach();
        double Fraction(Tensor mask) => mask.to(ScalarType.Float32).mean().item<float>();
        return ImmutableDictionary<string, double>.Empty
            .Add("actor/ppo_kl", (-lr).mean().item<float>())
            .Add("actor/approx_kl", (0.5 * lr.pow(2)).mean().item<float>())
            .Add("actor/ratio_mean", r.mean().item<float>())
            .Add("actor/ratio_std", r.std(unbiased: false).item<float>())
            .Add("actor/ratio_min", r.min().item<float>())
            .Add("actor/ratio_max", r.max().item<float>())
            .Add("actor/kl_new_old_mean", kl.mean().item<float>())
            .Add("actor/kl_new_old_max", kl.max().item<float>())
            .Add("actor/kl_mask_fraction", Fraction(highKl))
            .Add("actor/pos_rm_fraction", Fraction(positiveRemoved))
            .Add("actor/neg_rm_fraction", Fraction(negativeRemoved))
            .Add("actor/masked_fraction", Fraction(removed))
            .Add("actor/unmasked_fraction", Fraction(keep));
    }
}
