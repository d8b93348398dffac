using System.Collections.Immutable;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Training;
using Omni.Training.Options;
using Omni.Training.Run;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// The policy-gradient update of one training step: for each inner epoch and mini-batch, every micro-batch × trained step
/// is recomputed with grad, scored by the loss (plus β·KL), back-propagated with the loss divided by the accumulation count,
/// then the gradient is clipped and the optimizer steps. Non-finite model outputs or gradients skip the update (weights
/// untouched) and say why.
/// </summary>
public static class PolicyUpdate
{
    /// <summary>Runs the update.</summary>
    /// <param name="policy">The model.</param>
    /// <param name="optimizer">Its optimizer (over <see cref="Policy.Trainable"/>).</param>
    /// <param name="chunks">The step's trajectories.</param>
    /// <param name="data">Targets per chunk.</param>
    /// <param name="loss">The policy loss.</param>
    /// <param name="kl">The KL loss when enabled.</param>
    /// <param name="options">Training options.</param>
    /// <param name="seeds">Seed streams.</param>
    /// <param name="step">Training step.</param>
    /// <param name="learningRate">Learning rate for a given optimizer update number.</param>
    /// <param name="updatesSoFar">Optimizer updates before this step.</param>
    /// <param name="ema">The EMA to fold updates into, if any.</param>
    /// <param name="distill">The distillation term added with <see cref="TrainingOptions.DistillLossCoefficient"/>, if any.</param>
    public static UpdateOutcome Run(
        Policy policy, optim.Optimizer optimizer, IReadOnlyList<Trajectory> chunks, IReadOnlyList<StepData> data,
        DiffusionLoss loss, DiffusionLoss? kl, TrainingOptions options, SeedStreams seeds, int step,
        Func<int, double> learningRate, int updatesSoFar, Ema? ema, DiffusionLoss? distill = null)
    {
        var trainable = policy.Trainable;
        var settings = options.LossSettings;
        var sums = new Dictionary<string, (double Sum, int Count)>();
        void Record(string key, double value)
        {
            if (!double.IsFinite(value)) return;
            var (s, c) = sums.GetValueOrDefault(key);
            sums[key] = (s + value, c + 1);
        }
        var recorded = (int)chunks[0].LogProbs.shape[1];
        double? firstRatio = null;
        var updates = 0;
        string? skip = null;
        policy.Module.train();
        for (var epoch = 0; epoch < options.InnerEpochs; epoch++)
        {
            var columns = TimestepSelection.Choose(recorded, options.TimestepFraction, step, epoch, seeds);
            var order = seeds.Permutation(SeedStreams.Purpose.Shuffle, step, epoch, chunks.Count);
            var perMini = chunks.Count / options.MiniBatchesPerEpoch;
            for (var mini = 0; mini < options.MiniBatchesPerEpoch; mini++)
            {
                using (NewDisposeScope()) optimizer.zero_grad();
                var accumulation = perMini * columns.Length;
                string? failure = null;
                foreach (var c in order.Skip(mini * perMini).Take(perMini))
                {
                    foreach (var j in columns)
                    {
                        using var scope = NewDisposeScope();
                        var result = PolicyPasses.Step(policy, policy.Denoiser, chunks[c], j).OrThrow();
                        if (!TensorChecks.AllFinite(result.LogProb) || !TensorChecks.AllFinite(result.PrevSampleMean))
                        {
                            failure = $"the model produced a non-finite log-prob or mean at trained step {j} (micro-batch {c})";
                            break;
                        }
                        var output = ImmutableDictionary<string, Tensor>.Empty
                            .Add("log_probs", result.LogProb).Add("prev_sample_mean", result.PrevSampleMean)
                            .Add("std_dev_t", result.StdDevT).Add("sqrt_dt", result.SqrtDt);
                        if (result.Prediction is { } prediction) output = output.Add("noise_pred", prediction);
                        var d = data[c];
                        var inputs = ImmutableDictionary<string, Tensor>.Empty
                            .Add("old_log_probs", d.OldLogProbs.select(1, j)).Add("advantages", d.Advantages.select(1, j));
                        if (d.OldMeans is not null) inputs = inputs.Add("old_prev_sample_mean", d.OldMeans.select(1, j));
                        if (d.ReferenceMeans is not null) inputs = inputs.Add("ref_prev_sample_mean", d.ReferenceMeans.select(1, j));
                        if (d.TeacherMeans is not null) inputs = inputs.Add("teacher_prev_sample_mean", d.TeacherMeans.select(1, j));
                        if (d.TeacherPredictions is not null) inputs = inputs.Add("teacher_noise_pred", d.TeacherPredictions.select(1, j));
                        var lossInputs = new LossInputs(output, inputs, settings);
                        var main = ObjectiveRegistry.ValidateInputs(loss, lossInputs).Bind(loss.Compute).OrThrow();
                        var total = main.Loss;
                        Record("actor/pg_loss", main.Loss.detach().item<float>());
                        foreach (var (k, v) in main.Metrics) Record(k, v);
                        firstRatio ??= main.Metrics.GetValueOrDefault("actor/ratio_mean", double.NaN);
                        if (kl is not null)
                        {
                            var klResult = ObjectiveRegistry.ValidateInputs(kl, lossInputs).Bind(kl.Compute).OrThrow();
                            foreach (var (k, v) in klResult.Metrics) Record(k, v);
                            total = total + klResult.Loss * options.KlCoefficient;
                        }
                        if (distill is not null)
                        {
                            var distillResult = ObjectiveRegistry.ValidateInputs(distill, lossInputs).Bind(distill.Compute).OrThrow();
                            foreach (var (k, v) in distillResult.Metrics) Record(k, v);
                            total = total + distillResult.Loss * options.DistillLossCoefficient;
                        }
                        Record("actor/total_loss", total.detach().item<float>());
                        if (!TensorChecks.AllFinite(total))
                        {
                            failure = $"the loss is not finite at trained step {j} (micro-batch {c})";
                            break;
                        }
                        (total / accumulation).backward();
                    }
                    if (failure is not null) break;
                }
                if (failure is null)
                {
                    var norm = GradientNorm(trainable.Select(p => p.Parameter));
                    Record("actor/grad_norm", norm);
                    if (!double.IsFinite(norm)) failure = $"the gradient norm is {norm}";
                    else
                    {
                        if (options.GradientClip > 0) ClipGradients(trainable.Select(p => p.Parameter), norm, options.GradientClip);
                        var lr = learningRate(updatesSoFar + updates);
                        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                        Record("actor/lr", lr);
                        // Every `grad` access makes a new managed wrapper; a scope collects the optimizer's.
                        using (NewDisposeScope()) optimizer.step();
                        updates++;
                        ema?.Update(trainable);
                    }
                }
                using (NewDisposeScope()) optimizer.zero_grad();
                if (failure is not null)
                {
                    skip = $"update skipped: {failure}; weights left unchanged by it";
                    break;
                }
            }
            if (skip is not null) break;
        }
        policy.Module.eval();
        var metrics = sums.ToImmutableDictionary(p => p.Key, p => p.Value.Sum / p.Value.Count);
        if (firstRatio is { } r) metrics = metrics.SetItem("actor/first_ratio", r);
        return new UpdateOutcome(metrics, skip, updates);
    }

    /// <summary>The global L2 norm of the gradients (parameters without a gradient count as zero).</summary>
    public static double GradientNorm(IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var total = 0.0;
        foreach (var p in parameters)
            if (p.grad is { } g) total += g.to(ScalarType.Float64).pow(2).sum().item<double>();
        return Math.Sqrt(total);
    }

    /// <summary>torch's <c>clip_grad_norm_</c>: scales every gradient by min(1, max/(norm + 1e-6)).</summary>
    public static void ClipGradients(IEnumerable<Tensor> parameters, double norm, double max)
    {
        var coefficient = max / (norm + 1e-6);
        if (coefficient >= 1) return;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var p in parameters) p.grad?.mul_(coefficient);
    }
}
