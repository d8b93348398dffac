using static TorchSharp.torch;

namespace Omni.Effects.Distributed;

/// <summary>
/// Collective operations over the ranks of a job, on contiguous tensors in place (float32, bfloat16, float16, float64,
/// int32, int64, uint8). Every rank must make the same calls in the same order with tensors of the same shape and dtype;
/// a call that cannot complete within <see cref="Timeout"/> (a rank that died or hangs) ends the job with a message
/// naming the rank, instead of waiting forever. Implementations: <see cref="SingleProcessCollectives"/> (identity),
/// <see cref="Mpi.MpiCollectives"/> (MPICH, CPU tensors) and <see cref="Nccl.NcclCollectives"/> (NCCL, CUDA tensors).
/// </summary>
public interface ICollectives : IDisposable
{
    /// <summary>This process's place in the job.</summary>
    RankEnvironment Layout { get; }

    /// <summary>This process's rank.</summary>
    int Rank => Layout.Rank;

    /// <summary>The number of ranks.</summary>
    int WorldSize => Layout.WorldSize;

    /// <summary>The engine, with its version where known (for logs): <c>single process</c>, <c>MPICH 4.0.2</c>, <c>NCCL 2.27.3</c>.</summary>
    string Backend { get; }

    /// <summary>The device whose tensors the collectives take (the CPU for MPI, the rank's GPU for NCCL).</summary>
    Device Device { get; }

    /// <summary>How long one call may wait for the other ranks before the job is ended.</summary>
    TimeSpan Timeout { get; }

    /// <summary>Calls and bytes sent so far, per operation (for throughput reports).</summary>
    CollectiveTraffic Traffic { get; }

    /// <summary>Replaces <paramref name="tensor"/> on every rank by the elementwise reduction over all ranks.</summary>
    void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>
    /// Fills <paramref name="output"/> (world size × the elements of <paramref name="input"/>, same dtype) with every rank's
    /// <paramref name="input"/> in rank order: rank i's values land at offset i × input.numel().
    /// </summary>
    void AllGather(Tensor input, Tensor output);

    /// <summary>
    /// Reduces <paramref name="input"/> (world size × the elements of <paramref name="output"/>) elementwise over the ranks
    /// and leaves block i of the result (offset i × output.numel()) in rank i's <paramref name="output"/>.
    /// </summary>
    void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum);

    /// <summary>Copies <paramref name="root"/>'s <paramref name="tensor"/> into every rank's.</summary>
    void Broadcast(Tensor tensor, int root = 0);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every rank of the job now: writes <paramref name="message"/> (prefixed with this rank) and exits with <paramref name="exitCode"/>.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    void Abort(string message, int exitCode = 1);
}
