using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// The outputs of one reverse SDE step, as the reference returns them from
/// <c>sample_previous_step(..., return_sqrt_dt=True)</c>. The caller owns the tensors; disposing the
/// result disposes all of them.
/// </summary>
/// <param name="PrevSample">x', float32, shaped like the sample.</param>
/// <param name="LogProb">log p(x' | x): the per-element log-density averaged over all non-batch dimensions, shape (B,).</param>
/// <param name="PrevSampleMean">The Gaussian mean of x' (carries gradients to the model output).</param>
/// <param name="StdDevT">The step's std: 0-d when every row shares σ and η, otherwise (B, 1, …, 1).</param>
/// <param name="SqrtDt"><c>√(σ − σ')</c> per row, shape (B,).</param>
public sealed record StepResult(Tensor PrevSample, Tensor LogProb, Tensor PrevSampleMean, Tensor StdDevT, Tensor SqrtDt) : IDisposable
{
    /// <summary>Disposes every tensor of the result.</summary>
    public void Dispose()
    {
        PrevSample.Dispose();
        LogProb.Dispose();
        PrevSampleMean.Dispose();
        StdDevT.Dispose();
        SqrtDt.Dispose();
    }
}
