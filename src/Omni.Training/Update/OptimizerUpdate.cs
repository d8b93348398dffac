using Omni.Training.Options;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>The end of every accumulation: gradient norm, clipping, learning rate, optimizer step, EMA.</summary>
internal static class OptimizerUpdate
{
    /// <summary>Steps the optimizer on the accumulated gradients; returns why it did not (a non-finite norm), or null.</summary>
    public static string? Apply(Policy policy, optim.Optimizer optimizer, TrainingOptions options, double learningRate, Ema? ema, MetricSums metrics)
    {
        var trainable = policy.Trainable;
        var norm = PolicyUpdate.GradientNorm(trainable.Select(p => p.Parameter));
        metrics.Record("actor/grad_norm", norm);
        if (!double.IsFinite(norm)) return $"the gradient norm is {norm}";
        if (options.GradientClip > 0) PolicyUpdate.ClipGradients(trainable.Select(p => p.Parameter), norm, options.GradientClip);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
        metrics.Record("actor/lr", learningRate);
        // Every `grad` access makes a new managed wrapper; a scope collects the optimizer's.
        using (NewDisposeScope()) optimizer.step();
        ema?.Update(trainable);
        return null;
    }
}
