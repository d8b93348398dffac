using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// Problems seen during gradient accumulation, kept as 0-d boolean tensors on the device so no forward pass waits for a
/// host read; <see cref="ReadWith"/> reads them together with the gradient norm, once per optimizer update.
/// </summary>
public sealed class FaultFlags : IDisposable
{
    /// <summary>A non-finite log-prob or mean from the model.</summary>
    public const string Output = "output";

    /// <summary>A non-finite loss.</summary>
    public const string Loss = "loss";

    private readonly Dictionary<string, Tensor> _flags = [];

    /// <summary>Or-s <paramref name="flag"/> (0-d bool) into the flag <paramref name="name"/>.</summary>
    public void Raise(string name, Tensor flag)
    {
        using var noGrad = no_grad();
        if (_flags.TryGetValue(name, out var existing)) existing.logical_or_(flag);
        else _flags[name] = flag.detach().clone().DetachFromDisposeScope();
    }

    /// <summary>Reads <paramref name="value"/> (0-d) and every flag in one transfer; returns the value and the raised flags.</summary>
    public (double Value, IReadOnlySet<string> Raised) ReadWith(Tensor value)
    {
        using var scope = NewDisposeScope();
        var names = _flags.Keys.ToArray();
        var host = stack([value.to(ScalarType.Float64).reshape([]), .. names.Select(n => _flags[n].to(ScalarType.Float64).reshape([]))])
            .cpu().data<double>().ToArray();
        return (host[0], names.Where((_, i) => host[i + 1] != 0).ToHashSet());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var flag in _flags.Values) flag.Dispose();
        _flags.Clear();
    }
}
