using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// The Flow-GRPO clipped objective (Liu et al., 2025), also registered as <c>dance_grpo</c>: advantages
/// clamped to ±<c>adv_clip_max</c>, <c>r = exp(log p − log p_old)</c>,
/// <c>L = mean_b(max(−A·r, −A·clamp(r, 1−ε, 1+ε))·w)</c> with optional detached rollout importance weights w.
/// </summary>
public static class FlowGrpoLoss
{
    /// <summary>The loss as registered under <paramref name="name"/>.</summary>
    public static DiffusionLoss Create(string name = "flow_grpo") =>
        DiffusionLoss.Total(name, ["log_probs"], ["old_log_probs", "advantages"], Compute);

    /// <summary>Computes the loss and its metrics for one trained step (all inputs (B,)).</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var logProb = inputs.Output("log_probs");
        var oldLogProb = inputs.Datum("old_log_probs").detach();
        var max = inputs.Settings.AdvantageClipMax;
        var advantages = inputs.Datum("advantages").detach().clamp(-max, max);
        var ratio = (logProb - oldLogProb).exp();
        var loss = PolicyRatio.ClippedSurrogate(ratio, advantages, inputs.OptionalDatum("rollout_is_weights"), inputs.Settings.ClipRatio);
        return new LossResult(loss, PolicyRatio.Metrics(oldLogProb, logProb, ratio, inputs.Settings.ClipRatio));
    }
}
