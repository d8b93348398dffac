using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>An exponential moving average of the trained parameters: shadow = d·shadow + (1 − d)·param after each update.</summary>
public sealed class Ema : IDisposable
{
    private readonly Dictionary<string, Tensor> _shadow;

    /// <summary>Starts the average at the current parameter values.</summary>
    public Ema(double decay, IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters)
    {
        Decay = decay;
        using var noGrad = no_grad();
        _shadow = parameters.ToDictionary(p => p.Name, p => p.Parameter.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>The decay d.</summary>
    public double Decay { get; }

    /// <summary>The averaged tensors by parameter name.</summary>
    public IReadOnlyDictionary<string, Tensor> Shadow => _shadow;

    /// <summary>Folds the current parameter values into the average.</summary>
    public void Update(IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, p) in parameters) _shadow[name].mul_(Decay).add_(p.detach(), alpha: 1 - Decay);
    }

    /// <summary>Replaces the average (on resume).</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> values)
    {
        using var noGrad = no_grad();
        foreach (var (name, t) in _shadow)
            if (values.TryGetValue(name, out var v)) t.copy_(v);
            else throw new InvalidDataException($"The EMA checkpoint has no tensor '{name}'.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _shadow.Values) t.Dispose();
    }
}
