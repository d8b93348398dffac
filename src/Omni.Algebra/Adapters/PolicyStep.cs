using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// What <see cref="TrainingAdapter.ForwardAndSamplePreviousStep"/> returns for one trained step: the current
/// policy's log-probability of the stored transition and the quantities the objectives need.
/// </summary>
/// <param name="LogProb">(B,).</param>
/// <param name="PrevSampleMean">The Gaussian mean of the next latent (B, …).</param>
/// <param name="StdDevT">The step's std.</param>
/// <param name="SqrtDt"><c>√−dt</c> per row, (B,).</param>
public sealed record PolicyStep(Tensor LogProb, Tensor PrevSampleMean, Tensor StdDevT, Tensor SqrtDt)
{
    /// <summary>The model's float32 prediction (<c>noise_pred</c>) the step was scored with, when the adapter reports it.</summary>
    public Tensor? Prediction { get; init; }

    /// <summary>
    /// The step as a loss's model output, under the names losses declare (<c>log_probs</c>, <c>prev_sample_mean</c>,
    /// <c>std_dev_t</c>, <c>sqrt_dt</c>, and <c>noise_pred</c> when the prediction is reported).
    /// </summary>
    public ImmutableDictionary<string, Tensor> AsModelOutput()
    {
        var output = ImmutableDictionary<string, Tensor>.Empty
            .Add("log_probs", LogProb).Add("prev_sample_mean", PrevSampleMean).Add("std_dev_t", StdDevT).Add("sqrt_dt", SqrtDt);
        return Prediction is { } prediction ? output.Add("noise_pred", prediction) : output;
    }
}
