using System.Collections.Immutable;

namespace Omni.Training.Update;

/// <summary>Averages of named metrics over an update's micro-steps (non-finite values are left out).</summary>
internal sealed class MetricSums
{
    private readonly Dictionary<string, (double Sum, int Count)> _sums = [];

    /// <summary>Adds one observation.</summary>
    public void Record(string key, double value)
    {
        if (!double.IsFinite(value)) return;
        var (s, c) = _sums.GetValueOrDefault(key);
        _sums[key] = (s + value, c + 1);
    }

    /// <summary>Adds every metric of a loss result.</summary>
    public void Record(IEnumerable<KeyValuePair<string, double>> metrics)
    {
        foreach (var (k, v) in metrics) Record(k, v);
    }

    /// <summary>The averages.</summary>
    public ImmutableDictionary<string, double> Averages() => _sums.ToImmutableDictionary(p => p.Key, p => p.Value.Sum / p.Value.Count);
}
