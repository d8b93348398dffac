using System.Collections.Immutable;

namespace Omni.Algebra.Objectives;

/// <summary>
/// On-policy distillation by the reverse-SDE KL to a frozen teacher (registered as <c>distill_kl</c>): the <c>kl</c> formula
/// with the teacher's mean on the student's own rollout, <c>mean_b(mean((μ_θ − μ_teacher)²)/(2·std_dev_t²))</c>.
/// </summary>
public static class DistillKlLoss
{
    /// <summary>The loss as registered under <c>distill_kl</c>.</summary>
    public static DiffusionLoss Create() =>
        DiffusionLoss.Total("distill_kl", ["prev_sample_mean", "std_dev_t"], ["teacher_prev_sample_mean"], Compute);

    /// <summary>Computes the loss; the metric <c>actor/distill_kl_loss</c> equals it.</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var loss = KlLoss.MeanShift(inputs.Output("prev_sample_mean"), inputs.Datum("teacher_prev_sample_mean").detach(), inputs.Output("std_dev_t"));
        return new LossResult(loss, ImmutableDictionary<string, double>.Empty.Add("actor/distill_kl_loss", loss.detach().item<float>()));
    }
}
