using System.Collections.Immutable;

namespace Omni.Algebra.Objectives;

/// <summary>
/// On-policy distillation by the flow-matching MSE to a frozen teacher (registered as <c>distill_fm_mse</c>):
/// <c>mean((v_θ − v_teacher)²)</c> over every element, the teacher's prediction taken at the student's own rollout states.
/// </summary>
public static class DistillFlowMatchingMseLoss
{
    /// <summary>The loss as registered under <c>distill_fm_mse</c>.</summary>
    public static DiffusionLoss Create() =>
        DiffusionLoss.Total("distill_fm_mse", ["noise_pred"], ["teacher_noise_pred"], Compute);

    /// <summary>Computes the loss; the metric <c>actor/distill_fm_mse_loss</c> equals it.</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var loss = (inputs.Output("noise_pred") - inputs.Datum("teacher_noise_pred").detach()).pow(2).mean();
        return new LossResult(loss, ImmutableDictionary<string, double>.Empty.Add("actor/distill_fm_mse_loss", loss.detach().item<float>()));
    }
}
