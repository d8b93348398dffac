using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// The KL regulariser to the reference policy: <c>mean_b(mean((μ_θ − μ_ref)²)/(2·std_dev_t²))</c> with the raw
/// <c>std_dev_t</c> (not multiplied by √−dt, as the reference). The reference policy is the same model with
/// its LoRA adapter disabled, evaluated without gradients.
/// </summary>
public static class KlLoss
{
    /// <summary>The loss as registered under <c>kl</c>.</summary>
    public static DiffusionLoss Create() => DiffusionLoss.Total("kl", ["prev_sample_mean", "std_dev_t"], ["ref_prev_sample_mean"], Compute);

    /// <summary>Computes the KL term; the metric <c>actor/kl_loss</c> equals the returned loss.</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var loss = MeanShift(inputs.Output("prev_sample_mean"), inputs.Datum("ref_prev_sample_mean").detach(), inputs.Output("std_dev_t"));
        return new LossResult(loss, ImmutableDictionary<string, double>.Empty.Add("actor/kl_loss", loss.detach().item<float>()));
    }

    /// <summary>
    /// The Gaussian KL between two reverse-SDE steps that share <paramref name="std"/>: the squared mean shift averaged over
    /// each sample's elements, divided by <c>2·std²</c>, averaged over the batch.
    /// </summary>
    internal static Tensor MeanShift(Tensor mean, Tensor target, Tensor std)
    {
        var batch = mean.shape[0];
        var rowShape = new long[mean.dim()];
        System.Array.Fill(rowShape, 1L);
        rowShape[0] = batch;
        var perRow = (mean - target).pow(2).reshape(batch, -1).mean([1]).reshape(rowShape);
        return (perRow / (2 * std.pow(2))).mean();
    }
}
