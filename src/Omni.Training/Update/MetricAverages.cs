using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// Running means of an update's metrics over its micro-steps and optimizer steps. Values computed on the device stay there
/// (a sum and a count per metric) until <see cref="Averages"/> reads them all in one transfer, so a GPU is not stalled
/// once per forward pass. Non-finite values are left out (the step that produced them is skipped and says why), and a
/// metric recorded with <c>First</c> keeps its first value.
/// </summary>
public sealed class MetricAverages : IDisposable
{
    private readonly Dictionary<string, (double Sum, int Count)> _sums = [];
    private readonly Dictionary<string, double> _first = [];
    private readonly Dictionary<string, (Tensor Sum, Tensor Count)> _deviceSums = [];
    private readonly Dictionary<string, Tensor> _deviceFirst = [];

    /// <summary>Adds one host value of <paramref name="name"/>.</summary>
    public void Add(string name, double value)
    {
        if (!double.IsFinite(value)) return;
        var (sum, count) = _sums.GetValueOrDefault(name);
        _sums[name] = (sum + value, count + 1);
    }

    /// <summary>Adds one value of each host metric.</summary>
    public void AddAll(IEnumerable<KeyValuePair<string, double>> metrics)
    {
        foreach (var (name, value) in metrics) Add(name, value);
    }

    /// <summary>Adds one device value (a 0-d tensor) of <paramref name="name"/> without reading it.</summary>
    public void Add(string name, Tensor value)
    {
        using var scope = NewDisposeScope();
        var v = value.detach().to(ScalarType.Float64).reshape([]);
        var finite = v.isfinite();
        var contribution = where(finite, v, zeros_like(v));
        var counted = finite.to(ScalarType.Float64);
        if (_deviceSums.TryGetValue(name, out var running))
        {
            running.Sum.add_(contribution);
            running.Count.add_(counted);
        }
        else _deviceSums[name] = (contribution.clone().DetachFromDisposeScope(), counted.clone().DetachFromDisposeScope());
    }

    /// <summary>Adds one value of each device metric.</summary>
    public void AddAll(IEnumerable<KeyValuePair<string, Tensor>> metrics)
    {
        foreach (var (name, value) in metrics) Add(name, value);
    }

    /// <summary>Records <paramref name="value"/> under <paramref name="name"/> unless a value was recorded before.</summary>
    public void First(string name, double value) => _first.TryAdd(name, value);

    /// <summary>Records a device value under <paramref name="name"/> unless a value was recorded before.</summary>
    public void First(string name, Tensor value)
    {
        if (_first.ContainsKey(name) || _deviceFirst.ContainsKey(name)) return;
        using var noGrad = no_grad();
        _deviceFirst[name] = value.detach().to(ScalarType.Float64).reshape([]).clone().DetachFromDisposeScope();
    }

    /// <summary>The means, plus the first values; device values are read here, in one transfer.</summary>
    public ImmutableDictionary<string, double> Averages()
    {
        var host = _sums.ToImmutableDictionary(p => p.Key, p => p.Value.Sum / p.Value.Count).SetItems(_first);
        if (_deviceSums.Count == 0 && _deviceFirst.Count == 0) return host;
        using var scope = NewDisposeScope();
        var names = _deviceSums.Keys.ToArray();
        var firsts = _deviceFirst.Keys.ToArray();
        var values = stack([.. names.SelectMany(n => new[] { _deviceSums[n].Sum, _deviceSums[n].Count }), .. firsts.Select(n => _deviceFirst[n])])
            .cpu().data<double>().ToArray();
        var builder = host.ToBuilder();
        for (var i = 0; i < names.Length; i++)
            if (values[2 * i + 1] > 0) builder[names[i]] = values[2 * i] / values[2 * i + 1];
        for (var i = 0; i < firsts.Length; i++) builder[firsts[i]] = values[2 * names.Length + i];
        return builder.ToImmutable();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (sum, count) in _deviceSums.Values) { sum.Dispose(); count.Dispose(); }
        foreach (var first in _deviceFirst.Values) first.Dispose();
        _deviceSums.Clear();
        _deviceFirst.Clear();
    }
}
