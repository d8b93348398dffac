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
public sealed record UpdateContext(
    Policy Policy, optim.Optimizer Optimizer, DiffusionLoss Loss, DiffusionLoss? Kl, TrainingOptions Options, SeedStreams Seeds,
    int Step, Func<int, double> LearningRate, int UpdatesSoFar, Ema? Ema)
{
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
        var metrics = new MetricAverages();
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
        try
        {
            return AccumulateGradients(context, batches, members, columns, metrics)
                .Bind(_ => ApplyGradients(context, updateNumber, metrics));
        }
        finally
        {
            using (NewDisposeScope()) context.Optimizer.zero_grad();
        }
    }

    /// <summary>
    /// Stage 2: back-propagates every micro-batch (of <paramref name="members"/>) × trained step of a mini-batch, each loss
    /// divided by their count so the accumulated gradient is the mini-batch mean. Stops at the first non-finite output or loss.
    /// </summary>
    public static Either<string, LanguageExt.Unit> AccumulateGradients(
        UpdateContext context, IReadOnlyList<TrainingMicroBatch> batches, int[] members, int[] columns, MetricAverages metrics)
    {
        var accumulation = members.Length * columns.Length;
        return members.SelectMany(c => columns.Select(column => (c, column)))
            .Aggregate(Right<string, LanguageExt.Unit>(unit), (done, next) => done.Bind(_ =>
                BackwardStep(context, batches[next.c], next.column, accumulation, metrics)
                    .MapLeft(problem => $"{problem} at trained step {next.column} (micro-batch {next.c})")));
    }

    /// <summary>One trained step of one micro-batch: recompute with grad, score, back-propagate.</summary>
    private static Either<string, LanguageExt.Unit> BackwardStep(
        UpdateContext context, TrainingMicroBatch batch, int column, int accumulation, MetricAverages metrics)
    {
        using var scope = NewDisposeScope();
        var current = PolicyPasses.Step(context.Policy, context.Policy.Denoiser, batch.Samples, column).OrThrow();
        if (!TensorChecks.AllFinite(current.LogProb) || !TensorChecks.AllFinite(current.PrevSampleMean))
            return Left<string, LanguageExt.Unit>("the model produced a non-finite log-prob or mean");
        var inputs = new LossInputs(current.AsModelOutput(), batch.Targets.LossData(column), context.Options.LossSettings);
        var main = ObjectiveRegistry.ValidateInputs(context.Loss, inputs).Bind(context.Loss.Compute).OrThrow();
        metrics.Add("actor/pg_loss", main.Loss.detach().item<float>());
        metrics.AddAll(main.Metrics);
        metrics.First("actor/first_ratio", main.Metrics.GetValueOrDefault("actor/ratio_mean", double.NaN));
        var total = main.Loss;
        if (context.Kl is { } klLoss)
        {
            var kl = ObjectiveRegistry.ValidateInputs(klLoss, inputs).Bind(klLoss.Compute).OrThrow();
            metrics.AddAll(kl.Metrics);
            total = total + kl.Loss * context.Options.KlCoefficient;
        }
        if (context.Distill is { } distillLoss)
        {
            var distill = ObjectiveRegistry.ValidateInputs(distillLoss, inputs).Bind(distillLoss.Compute).OrThrow();
            metrics.AddAll(distill.Metrics);
            total = total + distill.Loss * context.Options.DistillLossCoefficient;
        }
        metrics.Add("actor/total_loss", total.detach().item<float>());
        if (!TensorChecks.AllFinite(total)) return Left<string, LanguageExt.Unit>("the loss is not finite");
        (total / accumulation).backward();
        return unit;
    }

    /// <summary>
    /// Stage 3: the accumulated gradients are complete here (a data-parallel run reduces them across ranks before this
    /// point); refuses a non-finite norm, clips, sets the learning rate of update <paramref name="updateNumber"/>, steps the
    /// optimizer and folds the result into the EMA.
    /// </summary>
    public static Either<string, LanguageExt.Unit> ApplyGradients(UpdateContext context, int updateNumber, MetricAverages metrics)
    {
        var parameters = context.Policy.Trainable.Select(p => p.Parameter).ToList();
        var norm = GradientNorm(parameters);
        metrics.Add("actor/grad_norm", norm);
        if (!double.IsFinite(norm)) return Left<string, LanguageExt.Unit>($"the gradient norm is {norm}");
        if (context.Options.GradientClip > 0) ClipGradients(parameters, norm, context.Options.GradientClip);
        var lr = context.LearningRate(updateNumber);
        foreach (var group in context.Optimizer.ParamGroups) group.LearningRate = lr;
        metrics.Add("actor/lr", lr);
        // Every `grad` access makes a new managed wrapper; a scope collects the optimizer's.
        using (NewDisposeScope()) context.Optimizer.step();
        context.Ema?.Update(context.Policy.Trainable);
        return unit;
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
