using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// Per-chunk training targets of one step, each (B_chunk, T, …): old-policy log-probs and means (from the old-policy pass,
/// or the rollout's own when recomputation is off), advantages, and reference-policy means for the KL term.
/// </summary>
/// <param name="OldLogProbs">(B, T) log-probs of the policy that sampled.</param>
/// <param name="OldMeans">(B, T, …) previous-sample means of that policy (GRPO-Guard), or null.</param>
/// <param name="Advantages">(B, T) advantages.</param>
/// <param name="ReferenceMeans">(B, T, …) reference-policy means (KL), or null.</param>
public sealed record StepData(Tensor OldLogProbs, Tensor? OldMeans, Tensor Advantages, Tensor? ReferenceMeans) : IDisposable
{
    /// <summary>(B, T, …) the distillation teacher's means on this trajectory (<c>teacher_prev_sample_mean</c>), or null.</summary>
    public Tensor? TeacherMeans { get; init; }

    /// <summary>(B, T, …) the teacher's predictions on this trajectory (<c>teacher_noise_pred</c>), or null.</summary>
    public Tensor? TeacherPredictions { get; init; }

    /// <inheritdoc />
    public void Dispose()
    {
        TeacherMeans?.Dispose();
        TeacherPredictions?.Dispose();
        OldLogProbs.Dispose();
        OldMeans?.Dispose();
        Advantages.Dispose();
        ReferenceMeans?.Dispose();
    }
}
