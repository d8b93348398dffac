using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// DiffusionNFT's old (sampling) policy: a copy of the trained parameters that samples the rollouts and supplies
/// <c>old_prediction</c>, refreshed after updates by <see cref="Algebra.Training.OldPolicyRefresh"/> (a hard copy, or an EMA of
/// the current weights). The reference keeps it as a second LoRA adapter; holding the trained tensors serves LoRA and full
/// fine-tuning alike. While the old weights equal the current ones (from the start, and after every hard copy until the next
/// optimizer step) they are not swapped in at all: the current model's outputs are the old policy's, bit for bit.
/// </summary>
public sealed class OldPolicy : IDisposable
{
    private readonly Dictionary<string, Tensor> _weights;

    /// <summary>Starts as a copy of the current parameters (the reference copies <c>default</c> into <c>old</c> before training).</summary>
    public OldPolicy(IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _weights = trainable.ToDictionary(p => p.Name, p => p.Parameter.detach().clone().DetachFromDisposeScope());
        MatchesCurrent = true;
    }

    /// <summary>Whether the old weights are known to equal the current ones.</summary>
    public bool MatchesCurrent { get; private set; }

    /// <summary>The old weights by parameter name (for checkpoints).</summary>
    public IReadOnlyDictionary<string, Tensor> Weights => _weights;

    /// <summary>The current weights have changed (an optimizer step).</summary>
    public void CurrentChanged() => MatchesCurrent = false;

    /// <summary>Runs <paramref name="action"/> with the old weights in the model, then puts the current ones back.</summary>
    public T Use<T>(IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable, Func<T> action)
    {
        if (MatchesCurrent) return action();
        var saved = new List<Tensor>(trainable.Count);
        try
        {
            // The scope collects the detach() views, which would otherwise outlive every call made outside a scope.
            using (no_grad())
            using (NewDisposeScope())
                foreach (var (name, p) in trainable)
                {
                    saved.Add(p.detach().clone().DetachFromDisposeScope());
                    p.copy_(_weights[name]);
                }
            return action();
        }
        finally
        {
            using (no_grad())
            using (NewDisposeScope())
                for (var i = 0; i < saved.Count; i++) trainable[i].Parameter.copy_(saved[i]);
            foreach (var t in saved) t.Dispose();
        }
    }

    /// <summary><c>old ← d·old + (1 − d)·current</c>; d = 0 is a hard copy.</summary>
    public void Refresh(double decay, IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, p) in trainable)
        {
            if (decay == 0) _weights[name].copy_(p);
            else _weights[name].mul_(decay).add_(p.detach(), alpha: 1 - decay);
        }
        // An average of equal tensors is that tensor, so an EMA keeps a match; any other EMA leaves the old policy behind.
        MatchesCurrent = decay == 0 || MatchesCurrent;
    }

    /// <summary>Replaces the old weights (on resume) and re-derives whether they equal the current ones.</summary>
    /// <exception cref="InvalidDataException">A trained tensor has no saved old value.</exception>
    public void Load(IReadOnlyDictionary<string, Tensor> values, IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var same = true;
        foreach (var (name, p) in trainable)
        {
            if (!values.TryGetValue(name, out var v)) throw new InvalidDataException($"The old-policy checkpoint has no tensor '{name}'.");
            _weights[name].copy_(v);
            same &= _weights[name].Equals(p.detach());
        }
        MatchesCurrent = same;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _weights.Values) t.Dispose();
    }
}
