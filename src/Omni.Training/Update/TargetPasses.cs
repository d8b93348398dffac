using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Training;
using Omni.Training.Options;
using Omni.Training.Rollout;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// What a step's update is scored against, computed before any weight changes: group advantages from the rewards, the
/// old policy's log-probs and means (re-run on the current weights, or the rollout's own), the reference policy's
/// means for the KL term, and the distillation teacher's means (and predictions) — each only over the recorded steps some
/// inner epoch will train.
/// </summary>
public static class TargetPasses
{
    /// <summary>One <see cref="TrainingMicroBatch"/> per rollout chunk, plus the old-policy mismatch when it was recomputed.</summary>
    /// <param name="policy">The model (weights as they were for the rollout).</param>
    /// <param name="rollout">The step's rollout.</param>
    /// <param name="rewards">One reward per sample.</param>
    /// <param name="estimator">The advantage estimator.</param>
    /// <param name="options">Training options.</param>
    /// <param name="seeds">The run's seed streams.</param>
    /// <param name="step">The training step.</param>
    /// <param name="withReference">Whether the KL term needs reference-policy means.</param>
    /// <param name="teacher">Whether a distillation loss needs the teacher's means, and whether also its predictions.</param>
    /// <param name="firstSample">
    /// Global index of the rollout's first sample: with several ranks, <paramref name="rewards"/> holds the whole step's
    /// rewards (every rank's, in global order), so advantages see every group, and this rank keeps its own rows.
    /// </param>
    public static (IReadOnlyList<TrainingMicroBatch> Batches, double? OldLogProbMismatch) Compute(
        Policy policy, RolloutBatch rollout, float[] rewards, AdvantageEstimator estimator, TrainingOptions options, SeedStreams seeds,
        int step, bool withReference, (bool Means, bool Predictions) teacher = default, int firstSample = 0)
    {
        var batches = new List<TrainingMicroBatch>();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (recorded, device) = ((int)rollout.Chunks[0].LogProbs.shape[1], rollout.Chunks[0].LogProbs.device);
            var advantages = Advantages(step, rewards, estimator, options, recorded, device);
            var columns = TrainedColumns(options, seeds, step, recorded);
            var columnIndex = tensor(columns.Order().Select(c => (long)c).ToArray(), ScalarType.Int64, device);
            // The largest rollout-vs-recompute difference, kept on the device and read once after every chunk.
            Tensor? mismatch = null;
            var first = (long)firstSample;
            foreach (var chunk in rollout.Chunks)
            {
                var samples = chunk.ToMicroBatch();
                var size = chunk.LogProbs.shape[0];
                Tensor oldLogProbs, oldMeans;
                if (options.RecomputeOldLogProbs)
                {
                    (oldLogProbs, oldMeans) = PolicyPasses.Evaluate(policy, policy.Denoiser, samples, columns).OrThrow();
                    var difference = (oldLogProbs - chunk.LogProbs.to(oldLogProbs.device)).index_select(1, columnIndex.to(oldLogProbs.device)).abs().max();
                    mismatch = mismatch is null ? difference : maximum(mismatch, difference);
                }
                else
                {
                    oldLogProbs = chunk.LogProbs.clone();
                    oldMeans = chunk.PrevSampleMeans?.clone() ?? throw new OmniException([OmniError.Invalid(
                        "Without RecomputeOldLogProbs the rollout must record previous-sample means.")]);
                }
                var referenceMeans = withReference
                    ? policy.WithReference(reference => PolicyPasses.Evaluate(policy, reference, samples, columns)).OrThrow().Means
                    : null;
                Tensor? teacherMeans = null, teacherPredictions = null;
                if (teacher.Means)
                    (_, teacherMeans, teacherPredictions) = PolicyPasses.EvaluateWithPredictions(
                        policy, policy.Teacher ?? throw new InvalidOperationException("A distillation loss needs Policy.Teacher."), samples, columns, teacher.Predictions).OrThrow();
                var targets = new UpdateTargets(oldLogProbs.DetachFromDisposeScope(), oldMeans.DetachFromDisposeScope(),
                    advantages.narrow(0, first, size).clone().DetachFromDisposeScope(), referenceMeans?.DetachFromDisposeScope())
                {
                    TeacherMeans = teacherMeans?.DetachFromDisposeScope(), TeacherPredictions = teacherPredictions?.DetachFromDisposeScope(),
                };
                batches.Add(new TrainingMicroBatch(samples, targets));
                first += size;
            }
            return (batches, options.RecomputeOldLogProbs && mismatch is not null ? mismatch.to(ScalarType.Float64).cpu().item<double>() : null);
        }
        catch
        {
            foreach (var b in batches) b.Dispose();
            throw;
        }
    }

    /// <summary>The recorded steps any inner epoch of <paramref name="step"/> trains (only those need old and reference values).</summary>
    public static HashSet<int> TrainedColumns(TrainingOptions options, SeedStreams seeds, int step, int recorded) =>
        Enumerable.Range(0, options.InnerEpochs).SelectMany(e => TimestepSelection.Choose(recorded, options.TimestepFraction, step, e, seeds)).ToHashSet();

    // On the rollout's device, beside the log-probs they are scored with; over the whole step's rewards (every rank's).
    private static Tensor Advantages(int step, float[] rewards, AdvantageEstimator estimator, TrainingOptions options, int recorded, Device device)
    {
        using var rewardTensor = tensor(rewards, ScalarType.Float32, device).unsqueeze(1).expand(-1, recorded).contiguous();
        var settings = new AdvantageSettings { Epsilon = options.AdvantageEpsilon, NormalizeByStd = options.NormalizeAdvantageByStd, GlobalStd = options.GlobalStd };
        return estimator.Compute(rewardTensor, GroupRollout.GroupIds(step, 0, rewards.Length, options.GroupSize), settings);
    }
}
