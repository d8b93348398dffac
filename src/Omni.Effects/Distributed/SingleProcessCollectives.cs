using static TorchSharp.torch;

namespace Omni.Effects.Distributed;

/// <summary>
/// The collectives of a one-process job: every operation is the identity (an all-gather or reduce-scatter copies its
/// input into its output), so code written for many ranks runs unchanged on one. Arguments are checked as the other
/// backends check them, so a mistake shows up on one rank too.
/// </summary>
public sealed class SingleProcessCollectives : ICollectives
{
    /// <summary>Creates the one-rank collectives for tensors on <paramref name="device"/> (the CPU by default).</summary>
    public SingleProcessCollectives(Device? device = null) => Device = device ?? CPU;

    /// <inheritdoc />
    public RankEnvironment Layout => RankEnvironment.SingleProcess;

    /// <inheritdoc />
    public string Backend => "single process";

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public TimeSpan Timeout => System.Threading.Timeout.InfiniteTimeSpan;

    /// <inheritdoc />
    public CollectiveTraffic Traffic { get; } = new();

    /// <inheritdoc />
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        CollectiveArguments.Check(0, Device.type, "all_reduce", tensor);
        CollectiveArguments.CheckReduction(0, "all_reduce", tensor, op);
    }

    /// <inheritdoc />
    public void AllGather(Tensor input, Tensor output)
    {
        CollectiveArguments.CheckPair(0, 1, Device.type, "all_gather", input, output);
        using var _ = no_grad();
        output.view(input.shape).copy_(input);
    }

    /// <inheritdoc />
    public void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        CollectiveArguments.CheckPair(0, 1, Device.type, "reduce_scatter", output, input);
        CollectiveArguments.CheckReduction(0, "reduce_scatter", output, op);
        using var _ = no_grad();
        output.view(input.shape).copy_(input);
    }

    /// <inheritdoc />
    public void Broadcast(Tensor tensor, int root = 0)
    {
        CollectiveArguments.Check(0, Device.type, "broadcast", tensor);
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "A one-process job has only rank 0.");
    }

    /// <inheritdoc />
    public void Barrier() { }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void Abort(string message, int exitCode = 1)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"omni: {message}");
        Environment.Exit(exitCode == 0 ? 1 : exitCode);
        throw new InvalidOperationException("unreachable");
    }

    /// <inheritdoc />
    public void Dispose() { }
}
