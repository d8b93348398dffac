using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Training.Checkpoints;

/// <summary>
/// AdamW's per-parameter state (step count, first and second moments) read from and written into a live optimizer, so a
/// sharded checkpoint can store it as named tensors and a resume can cut or join it for another world size. The state
/// list follows the optimizer's parameter order, which is the trained-parameter order.
/// </summary>
internal static class OptimizerMoments
{
    /// <summary>The states of <paramref name="optimizer"/> (an AdamW), one per trained parameter in order.</summary>
    public static IReadOnlyList<AdamW.State> Of(OptimizerHelper optimizer) =>
        optimizer is AdamW adam
            ? [.. adam.state_dict().State.Cast<AdamW.State>()]
            : throw new NotSupportedException($"Sharded checkpoints store AdamW state; this optimizer is a {optimizer.GetType().Name}.");

    /// <summary>Named tensors of the moments (<c>{name}.exp_avg</c>, <c>{name}.exp_avg_sq</c>) and the step of each parameter.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, long> Steps) Export(
        IReadOnlyList<(string Name, Parameter Parameter)> trainable, OptimizerHelper optimizer)
    {
        var states = Of(optimizer);
        var tensors = new Dictionary<string, Tensor>();
        var steps = new Dictionary<string, long>();
        for (var i = 0; i < trainable.Count; i++)
        {
            var name = trainable[i].Name;
            tensors[$"{name}.exp_avg"] = states[i].exp_avg;
            tensors[$"{name}.exp_avg_sq"] = states[i].exp_avg_sq;
            steps[name] = states[i].step;
        }
        return (tensors, steps);
    }

    /// <summary>Copies moments (shaped like each trained parameter) and steps into the optimizer's state.</summary>
    public static void Import(IReadOnlyList<(string Name, Parameter Parameter)> trainable, OptimizerHelper optimizer,
                              Func<string, Tensor> moment, IReadOnlyDictionary<string, long> steps)
    {
        var states = Of(optimizer);
        using var noGrad = no_grad();
        for (var i = 0; i < trainable.Count; i++)
        {
            var name = trainable[i].Name;
            using (var m = moment($"{name}.exp_avg")) states[i].exp_avg.copy_(m);
            using (var v = moment($"{name}.exp_avg_sq")) states[i].exp_avg_sq.copy_(v);
            states[i].step = steps.TryGetValue(name, out var s) ? s : throw new InvalidDataException($"The checkpoint has no optimizer step count for '{name}'.");
        }
    }
}
