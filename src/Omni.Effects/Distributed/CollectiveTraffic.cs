using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Omni.Effects.Distributed;

/// <summary>A running count of collective calls and the bytes each rank contributed to them, per operation.</summary>
public sealed class CollectiveTraffic
{
    private readonly ConcurrentDictionary<string, (long Calls, long Bytes)> _counts = new();

    /// <summary>Counts one call of <paramref name="operation"/> that sent <paramref name="bytes"/> bytes from this rank.</summary>
    public void Add(string operation, long bytes) =>
        _counts.AddOrUpdate(operation, (1, bytes), (_, c) => (c.Calls + 1, c.Bytes + bytes));

    /// <summary>The counts so far, by operation name (<c>all_reduce</c>, <c>all_gather</c>, <c>reduce_scatter</c>, <c>broadcast</c>, <c>barrier</c>).</summary>
    public ImmutableSortedDictionary<string, (long Calls, long Bytes)> Snapshot() => _counts.ToImmutableSortedDictionary();

    /// <summary>Bytes sent by this rank over all operations so far.</summary>
    public long TotalBytes => _counts.Values.Sum(c => c.Bytes);

    /// <summary>Calls over all operations so far.</summary>
    public long TotalCalls => _counts.Values.Sum(c => c.Calls);
}
