using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// What one micro-batch's recomputed steps are scored against, each (B, T, …) over the trajectory's recorded steps: the
/// old policy's log-probs and means (from the old-policy pass, or the rollout's own when recomputation is off), the
/// advantages, the reference policy's means for the KL term, and the distillation teacher's means and predictions. Owns its
/// tensors.
/// </summary>
/// <param name="OldLogProbs">(B, T) log-probs of the policy that sampled.</param>
/// <param name="OldMeans">(B, T, …) previous-sample means of that policy (GRPO-Guard), or null.</param>
/// <param name="Advantages">(B, T) advantages.</param>
/// <param name="ReferenceMeans">(B, T, …) reference-policy means (KL), or null.</param>
public sealed record UpdateTargets(Tensor OldLogProbs, Tensor? OldMeans, Tensor Advantages, Tensor? ReferenceMeans) : IDisposable
{
    /// <summary>(B, T, …) the distillation teacher's means on this trajectory (<c>teacher_prev_sample_mean</c>), or null.</summary>
    public Tensor? TeacherMeans { get; init; }

    /// <summary>(B, T, …) the teacher's predictions on this trajectory (<c>teacher_noise_pred</c>), or null.</summary>
    public Tensor? TeacherPredictions { get; init; }

    /// <summary>The targets of recorded step <paramref name="column"/> as a loss's data, under the names losses declare.</summary>
    public ImmutableDictionary<string, Tensor> LossData(int column)
    {
        var data = ImmutableDictionary<string, Tensor>.Empty
            .Add("old_log_probs", OldLogProbs.select(1, column)).Add("advantages", Advantages.select(1, column));
        if (OldMeans is not null) data = data.Add("old_prev_sample_mean", OldMeans.select(1, column));
        if (ReferenceMeans is not null) data = data.Add("ref_prev_sample_mean", ReferenceMeans.select(1, column));
        if (TeacherMeans is not null) data = data.Add("teacher_prev_sample_mean", TeacherMeans.select(1, column));
        if (TeacherPredictions is not null) data = data.Add("teacher_noise_pred", TeacherPredictions.select(1, column));
        return data;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        OldLogProbs.Dispose();
        OldMeans?.Dispose();
        Advantages.Dispose();
        ReferenceMeans?.Dispose();
        TeacherMeans?.Dispose();
        TeacherPredictions?.Dispose();
    }
}

/// <summary>One micro-batch of the policy update: the samples the model is re-run on and the targets they are scored against.</summary>
/// <param name="Samples">The recorded trajectory and its conditioning (a view of the rollout's chunk).</param>
/// <param name="Targets">Its targets (owned).</param>
public sealed record TrainingMicroBatch(Algebra.Rollouts.MicroBatch Samples, UpdateTargets Targets) : IDisposable
{
    /// <summary>Disposes the targets (the samples belong to the rollout).</summary>
    public void Dispose() => Targets.Dispose();
}
