using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Training;
using Omni.Training.Options;
using Omni.Training.Run;
using TorchSharp;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>Everything one step's policy update works with.</summary>
/// <param name="Policy">The model.</param>
/// <param name="Optimizer">Its optimizer (over <see cref="Run.Policy.Trainable"/>).</param>
/// <param name="Loss">The policy loss.</param>
/// <param name="Kl">The KL loss, when enabled.</param>
/// <param name="Options">Training options.</param>
/// <param name="Seeds">The run's seed streams.</param>
/// <param name="Step">The training step.</param>
/// <param name="LearningRate">The learning rate of a given optimizer update number.</param>
/// <param name="UpdatesSoFar">Optimizer updates before this step.</param>
/// <param name="Ema">The EMA to fold updates into, if any.</param>
/// <param name="Precision">The run's weights by precision: the optimizer's float32 masters, gradient accumulation into them
/// and publication back into the model (no-ops under float32). Null: the policy's trainable parameters are the masters.</param>
public sealed record UpdateContext(
    Policy Policy, optim.Optimizer Optimizer, DiffusionLoss Loss, DiffusionLoss? Kl, TrainingOptions Options, SeedStreams Seeds,
    int Step, Func<int, double> LearningRate, int UpdatesSoFar, Ema? Ema, Precision.MixedPrecision? Precision = null)
{
    /// <summary>The tensors the optimizer updates, by name.</summary>
    public IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> Masters => Precision?.Masters ?? Policy.Trainable;

    /// <summary>The distillation term added with <see cref="TrainingOptions.DistillLossCoefficient"/>, if any.</summary>
    public DiffusionLoss? Distill { get; init; }
}

/// <summary>
/// The policy-gradient update of one training step, in stages: each inner epoch <see cref="PlanEpoch">plans</see> its
/// trained steps and mini-batches; each mini-batch <see cref="AccumulateGradients">accumulates gradients</see> over its
/// micro-batches × trained steps (recomputed with grad, scored by the loss plus β·KL and any distillation term, back-propagated divided by the
/// accumulation count), then <see cref="ApplyGradients">applies them</see> (norm, clip, learning rate, optimizer step,
/// EMA). The first non-finite model output, loss or gradient norm skips the rest of the update: weights are left as the
/// last completed optimizer step left them, and the reason is reported.
/// Nothing is read to the host per forward pass: finite checks and metrics stay on the device as flags and running sums;
/// each optimizer update reads one batch of values (gradient norm and the flags), and the update's metrics are read once
/// at its end.
/// </summary>
public static class PolicyUpdate
{
    /// <summary>The trained steps of an inner epoch and its mini-batches (indices of micro-batches).</summary>
    /// <param name="Columns">Recorded steps trained this epoch, in training order.</param>
    /// <param name="MiniBatches">Micro-batch indices of each mini-batch, in shuffled order.</param>
    public sealed record EpochPlan(int[] Columns, IReadOnlyList<int[]> MiniBatches);

    /// <summary>Runs the update over <paramref name="batches"/> (one per rollout chunk).</summary>
    public static UpdateOutcome Run(UpdateContext context, IReadOnlyList<TrainingMicroBatch> batches)
    {
        using var metrics = new MetricAverages();
        var updates = 0;
        context.Policy.Module.train();
        try
        {
            var recorded = batches[0].Samples.TrainedSteps;
            var outcome = Enumerable.Range(0, context.Options.InnerEpochs)
                .Select(epoch => PlanEpoch(context, epoch, recorded, batches.Count))
                .SelectMany(plan => plan.MiniBatches.Select(mini => (plan.Columns, Mini: mini)))
                .Aggregate(Right<string, LanguageExt.Unit>(unit), (done, next) => done.Bind(_ =>
                    UpdateMiniBatch(context, batches, next.Mini, next.Columns, context.UpdatesSoFar + updates, metrics)
                        .Map(_ => { updates++; return unit; })));
            var skip = outcome.MatchUnsafe(Right: _ => null, Left: reason => $"update skipped: {reason}; weights left unchanged by it");
            return new UpdateOutcome(metrics.Averages().SetItem("actor/optimizer_steps", updates), skip, updates);
        }
        finally
        {
            context.Policy.Module.eval();
        }
    }

    /// <summary>Stage 1: which recorded steps an inner epoch trains, and how its micro-batches group into mini-batches.</summary>
    public static EpochPlan PlanEpoch(UpdateContext context, int epoch, int recordedSteps, int microBatches)
    {
        var o = context.Options;
        var columns = TimestepSelection.Choose(recordedSteps, o.TimestepFraction, context.Step, epoch, context.Seeds);
        var order = context.Seeds.Permutation(SeedStreams.Purpose.Shuffle, context.Step, epoch, microBatches);
        var perMini = microBatches / o.MiniBatchesPerEpoch;
        return new EpochPlan(columns, [.. Enumerable.Range(0, o.MiniBatchesPerEpoch).Select(m => order.Skip(m * perMini).Take(perMini).ToArray())]);
    }

    /// <summary>Stage 2 and 3 for one mini-batch: gradients accumulated, then applied; gradients are cleared either way.</summary>
    private static Either<string, LanguageExt.Unit> UpdateMiniBatch(
        UpdateContext context, IReadOnlyList<TrainingMicroBatch> batches, int[] members, int[] columns, int updateNumber, MetricAverages metrics)
    {
        using (NewDisposeScope()) context.Optimizer.zero_grad();
        using var faults = new FaultFlags();
        try
        {
            return AccumulateGradients(context, batches, members, columns, metrics, faults)
                .Bind(_ => ApplyGradients(context, updateNumber, metrics, faults));
        }
        finally
        {
            using (NewDisposeScope()) context.Optimizer.zero_grad();
        }
    }

    /// <summary>
    /// Stage 2: back-propagates every micro-batch (of <paramref name="members"/>) × trained step of a mini-batch, each loss
    /// divided by their count so the accumulated gradient is the mini-batch mean. Non-finite outputs and losses are
    /// flagged on the device in <paramref name="faults"/>; <see cref="ApplyGradients"/> reads the flags and refuses the update.
    /// </summary>
    public static Either<string, LanguageExt.Unit> AccumulateGradients(
        UpdateContext context, IReadOnlyList<TrainingMicroBatch> batches, int[] members, int[] columns, MetricAverages metrics, FaultFlags faults)
    {
        var accumulation = members.Length * columns.Length;
        foreach (var c in members)
            foreach (var column in columns)
                BackwardStep(context, batches[c], c, column, accumulation, metrics, faults);
        return unit;
    }

    /// <summary>
    /// One trained step of one micro-batch: recompute with grad, score, back-propagate; no host reads. Every rank
    /// back-propagates every micro-step, even a flagged one, so the ranks' collectives (FSDP's gathers and reduce-scatters)
    /// stay in step; the flags are agreed once, in <see cref="ApplyGradients"/>.
    /// </summary>
    private static void BackwardStep(
        UpdateContext context, TrainingMicroBatch batch, int microBatch, int column, int accumulation, MetricAverages metrics, FaultFlags faults)
    {
        using var scope = NewDisposeScope();
        try
        {
            var current = PolicyPasses.Step(context.Policy, context.Policy.Denoiser, batch.Samples, column).OrThrow();
            var place = $"trained step {column} (micro-batch {microBatch})";
            faults.Raise(FaultFlags.Output, TensorChecks.NonFinite(current.LogProb).logical_or(TensorChecks.NonFinite(current.PrevSampleMean)), place);
            var total = Score(context, batch, column, current, metrics);
            faults.Raise(FaultFlags.Loss, TensorChecks.NonFinite(total), place);
            (total / accumulation).backward();
            context.Precision?.AccumulateGradients();
        }
        finally
        {
            // FSDP: drop the consumed gather, so the next trained forward gathers afresh.
            context.Policy.Parallel.AfterBackward();
        }
    }

    // The loss (+ β·KL + distillation) of one recomputed step, its metrics recorded on the device.
    private static Tensor Score(UpdateContext context, TrainingMicroBatch batch, int column, Algebra.Adapters.PolicyStep current, MetricAverages metrics)
    {
        var inputs = new LossInputs(current.AsModelOutput(), batch.Targets.LossData(column), context.Options.LossSettings);
        var main = ObjectiveRegistry.ValidateInputs(context.Loss, inputs).Bind(context.Loss.Compute).OrThrow();
        metrics.Add("actor/pg_loss", main.Loss);
        Record(metrics, main);
        if (main.DeviceMetrics.TryGetValue("actor/ratio_mean", out var ratio)) metrics.First("actor/first_ratio", ratio);
        else metrics.First("actor/first_ratio", main.HostMetrics.GetValueOrDefault("actor/ratio_mean", double.NaN));
        var total = main.Loss;
        if (context.Kl is { } klLoss)
        {
            var kl = ObjectiveRegistry.ValidateInputs(klLoss, inputs).Bind(klLoss.Compute).OrThrow();
            Record(metrics, kl);
            total = total + kl.Loss * context.Options.KlCoefficient;
        }
        if (context.Distill is { } distillLoss)
        {
            var distill = ObjectiveRegistry.ValidateInputs(distillLoss, inputs).Bind(distillLoss.Compute).OrThrow();
            Record(metrics, distill);
            total = total + distill.Loss * context.Options.DistillLossCoefficient;
        }
        metrics.Add("actor/total_loss", total);
        return total;
    }

    /// <summary>
    /// Adds a loss's metrics but <paramref name="except"/>: device metrics stay on the device; a custom loss's host metrics
    /// are taken as they are.
    /// </summary>
    public static void Record(MetricAverages metrics, LossResult result, string? except = null)
    {
        metrics.AddAll(result.DeviceMetrics.Where(m => m.Key != except));
        metrics.AddAll(result.HostMetrics.Where(m => m.Key != except));
    }

    /// <summary>
    /// Stage 3: completes the accumulated gradients across ranks (DDP's all-reduce; FSDP's were reduce-scattered during
    /// backward) and takes their global norm; refuses a non-finite norm, clips, sets the learning rate of update
    /// <paramref name="updateNumber"/>, steps the optimizer and folds the result into the EMA.
    /// </summary>
    public static Either<string, LanguageExt.Unit> ApplyGradients(UpdateContext context, int updateNumber, MetricAverages metrics, FaultFlags faults)
    {
        var parameters = context.Masters.Select(p => p.Parameter).ToList();
        var parallel = context.Policy.Parallel;
        // The masters' gradients are complete on this rank (bf16 ones were copied in after every backward); DDP averages
        // them across ranks here, FSDP reduce-scattered them in backward.
        parallel.CompleteGradients(parameters);
        // The one host read of an optimizer update: this rank's squared gradient norm and its fault flags, together.
        using var squaredNorm = GradientNormSquared(parameters);
        var (localSquared, raised) = faults.ReadWith(squaredNorm);
        var problem = raised.Contains(FaultFlags.Output) ? $"the model produced a non-finite log-prob or mean{faults.At(FaultFlags.Output)}"
            : raised.Contains(FaultFlags.Loss) ? $"the loss is not finite{faults.At(FaultFlags.Loss)}"
            : null;
        // Every rank refuses the same update with the same reason (the lowest failing rank's).
        if (parallel.Agree(problem) is { } agreed) return Left<string, LanguageExt.Unit>(agreed);
        var norm = parallel.GlobalNorm(localSquared);
        metrics.Add("actor/grad_norm", norm);
        if (!double.IsFinite(norm)) return Left<string, LanguageExt.Unit>($"the gradient norm is {norm}");
        if (context.Options.GradientClip > 0) ClipGradients(parameters, norm, context.Options.GradientClip);
        var lr = context.LearningRate(updateNumber);
        foreach (var group in context.Optimizer.ParamGroups) group.LearningRate = lr;
        metrics.Add("actor/lr", lr);
        // Every `grad` access makes a new managed wrapper; a scope collects the optimizer's.
        using (NewDisposeScope()) context.Optimizer.step();
        context.Precision?.Publish();
        context.Ema?.Update(context.Masters);
        return unit;
    }

    /// <summary>The global L2 norm of the gradients (parameters without a gradient count as zero); one host read.</summary>
    public static double GradientNorm(IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        return Math.Sqrt(GradientNormSquared(parameters).cpu().item<double>());
    }

    /// <summary>The squared global L2 norm of the gradients as a 0-d float64 tensor on their device (nothing is read).</summary>
    public static Tensor GradientNormSquared(IEnumerable<Tensor> parameters)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var squares = parameters.Where(p => p.grad is not null).Select(p => p.grad!.to(ScalarType.Float64).pow(2).sum().reshape(1)).ToArray();
        return (squares.Length == 0 ? zeros([], ScalarType.Float64) : cat(squares).sum()).MoveToOuterDisposeScope();
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
