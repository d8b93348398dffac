using System.Collections.Immutable;

namespace Omni.Training.Update;

/// <summary>
/// Running means of an update's metrics over its micro-steps and optimizer steps. Non-finite values are left out (the
/// step that produced them is skipped and says why), and a metric recorded with <see cref="First"/> keeps its first value.
/// </summary>
public sealed class MetricAverages
{
    private readonly Dictionary<string, (double Sum, int Count)> _sums = [];
    private readonly Dictionary<string, double> _first = [];

    /// <summary>Adds one value of <paramref name="name"/>.</summary>
    public void Add(string name, double value)
    {
        if (!double.IsFinite(value)) return;
        var (sum, count) = _sums.GetValueOrDefault(name);
        _sums[name] = (sum + value, count + 1);
    }

    /// <summary>Adds one value of each metric.</summary>
    public void AddAll(IEnumerable<KeyValuePair<string, double>> metrics)
    {
        foreach (var (name, value) in metrics) Add(name, value);
    }

    /// <summary>Records <paramref name="value"/> under <paramref name="name"/> unless a value was recorded before.</summary>
    public void First(string name, double value) => _first.TryAdd(name, value);

    /// <summary>The means, plus the first values.</summary>
    public ImmutableDictionary<string, double> Averages() =>
        _sums.ToImmutableDictionary(p => p.Key, p => p.Value.Sum / p.Value.Count).SetItems(_first);
}
