namespace Omni.Effects.Distributed;

/// <summary>A collective or launch failure; the message starts with the rank it happened on.</summary>
public sealed class DistributedException : Exception
{
    /// <summary>Creates the exception for <paramref name="rank"/> (−1 when no rank is known yet).</summary>
    public DistributedException(int rank, string message, Exception? inner = null)
        : base(rank >= 0 ? $"rank {rank}: {message}" : message, inner) => Rank = rank;

    /// <summary>The rank that reported the failure (−1 before ranks are known).</summary>
    public int Rank { get; }
}
