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
}
