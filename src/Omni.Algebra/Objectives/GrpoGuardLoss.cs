using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// GRPO-Guard (Wang et al., 2025): the Flow-GRPO surrogate on a normalised ratio that removes the
/// mean-drift bias of the log-ratio. With <c>σ̄ = mean(std_dev_t)</c>, <c>s̄ = mean(√−dt)</c> and
/// <c>c = s̄·σ̄</c>: <c>b = mean((μ_θ − μ_old)²)/(2c²)</c> per sample, <c>r = exp((log p − log p_old + b)·c)</c>,
/// and the loss is rescaled by <c>1/s̄²</c>.
/// </summary>
public static class GrpoGuardLoss
{
    /// <summary>The loss as registered under <c>grpo_guard</c>.</summary>
    public static DiffusionLoss Create() =>
        DiffusionLoss.Total("grpo_guard", ["log_probs", "prev_sample_mean", "std_dev_t", "sqrt_dt"], ["old_log_probs", "advantages", "old_prev_sample_mean"], Compute);

    /// <summary>Computes the loss and its metrics for one trained step.</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var logProb = inputs.Output("log_probs");
        var mean = inputs.Output("prev_sample_mean");
        var oldLogProb = inputs.Datum("old_log_probs").detach();
        var oldMean = inputs.Datum("old_prev_sample_mean").detach();
        var max = inputs.Settings.AdvantageClipMax;
        var advantages = inputs.Datum("advantages").detach().clamp(-max, max);
        var stdBar = inputs.Output("std_dev_t").detach().mean();
        var sqrtDtBar = inputs.Output("sqrt_dt").detach().mean();
        var scale = sqrtDtBar * stdBar;
        var batch = mean.shape[0];
        var drift = (mean - oldMean).pow(2).reshape(batch, -1).mean([1]) / (2 * scale.pow(2));
        var ratio = ((logProb - oldLogProb + drift) * scale).exp();
        var loss = PolicyRatio.ClippedSurrogate(ratio, advantages, inputs.OptionalDatum("rollout_is_weights"), inputs.Settings.ClipRatio)
                   / sqrtDtBar.pow(2);
        return new LossResult(loss, PolicyRatio.Metrics(oldLogProb, logProb, ratio, inputs.Settings.ClipRatio));
    }
}
