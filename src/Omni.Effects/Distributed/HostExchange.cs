using System.Text;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed;

/// <summary>
/// Small host-side values exchanged over the collectives (flags, metric sums, messages), carried in tensors on the
/// collectives' device. Every rank must call the same helpers in the same order.
/// </summary>
public static class HostExchange
{
    /// <summary>The elementwise reduction of <paramref name="values"/> over the ranks (float64).</summary>
    public static double[] ReduceValues(this ICollectives c, double[] values, ReduceOp op = ReduceOp.Sum)
    {
        if (c.WorldSize == 1) return values;
        using var t = tensor(values, ScalarType.Float64).to(c.Device);
        c.AllReduce(t, op);
        return t.cpu().data<double>().ToArray();
    }

    /// <summary>Every rank's <paramref name="values"/> (the same length on every rank), in rank order.</summary>
    public static float[] GatherValues(this ICollectives c, float[] values)
    {
        if (c.WorldSize == 1) return values;
        using var local = tensor(values, ScalarType.Float32).to(c.Device);
        using var all = zeros(values.Length * c.WorldSize, ScalarType.Float32, c.Device);
        c.AllGather(local, all);
        return all.cpu().data<float>().ToArray();
    }

    /// <summary>Every rank's byte string, in rank order (lengths may differ: two collectives, lengths then padded bytes).</summary>
    public static byte[][] AllGatherBytes(this ICollectives c, byte[] bytes)
    {
        if (c.WorldSize == 1) return [bytes];
        using var length = tensor(new long[] { bytes.Length }).to(c.Device);
        using var lengths = zeros(c.WorldSize, ScalarType.Int64, c.Device);
        c.AllGather(length, lengths);
        var sizes = lengths.cpu().data<long>().ToArray();
        var width = (int)Math.Max(1, sizes.Max());
        var padded = new byte[width];
        bytes.CopyTo(padded, 0);
        using var local = tensor(padded, ScalarType.Byte).to(c.Device);
        using var all = zeros(width * c.WorldSize, ScalarType.Byte, c.Device);
        c.AllGather(local, all);
        var flat = all.cpu().data<byte>().ToArray();
        return [.. Enumerable.Range(0, c.WorldSize).Select(r => flat.AsSpan(r * width, (int)sizes[r]).ToArray())];
    }

    /// <summary>Every rank's string, in rank order.</summary>
    public static string[] AllGatherStrings(this ICollectives c, string text) =>
        [.. c.AllGatherBytes(Encoding.UTF8.GetBytes(text)).Select(b => Encoding.UTF8.GetString(b))];

    /// <summary>
    /// Agrees on a failure: null on every rank when no rank reports one, else — on every rank — the report of the lowest
    /// failing rank, prefixed with that rank (one small all-reduce when all is well).
    /// </summary>
    public static string? FirstFailure(this ICollectives c, string? localFailure)
    {
        if (c.WorldSize == 1) return localFailure;
        var first = (int)c.ReduceValues([localFailure is null ? c.WorldSize : c.Rank], ReduceOp.Min)[0];
        if (first == c.WorldSize) return null;
        var reports = c.AllGatherStrings(c.Rank == first ? localFailure! : "");
        return $"on rank {first}: {reports[first]}";
    }

    /// <summary>Whether <paramref name="flag"/> is true on any rank.</summary>
    public static bool AnyRank(this ICollectives c, bool flag) =>
        c.WorldSize == 1 ? flag : c.ReduceValues([flag ? 1.0 : 0.0], ReduceOp.Max)[0] > 0;
}
