using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Mpi;

/// <summary>
/// Collectives over MPICH on CPU tensors: MPI-3 non-blocking calls on the tensors' own memory (raw addresses, no copies;
/// bfloat16 and float16 are reduced through a float32 copy since MPI has no such types), each awaited with
/// <see cref="CollectiveWait"/> so a dead or stuck peer ends the job instead of hanging it. MPI is initialised with
/// <c>MPI_THREAD_MULTIPLE</c>: autograd may run a collective from its own thread.
/// </summary>
public sealed class MpiCollectives : ICollectives
{
    private readonly MpichLibrary _mpi;
    private readonly bool _ownsInit;
    private long _sequence;
    private bool _disposed;

    private MpiCollectives(MpichLibrary mpi, bool ownsInit, RankEnvironment layout, TimeSpan timeout)
    {
        (_mpi, _ownsInit, Layout, Timeout) = (mpi, ownsInit, layout, timeout);
        Backend = mpi.LibraryVersion();
        Peers = ExchangePeers();
    }

    /// <inheritdoc />
    public RankEnvironment Layout { get; }

    /// <inheritdoc />
    public string Backend { get; }

    /// <inheritdoc />
    public Device Device => CPU;

    /// <inheritdoc />
    public TimeSpan Timeout { get; }

    /// <inheritdoc />
    public CollectiveTraffic Traffic { get; } = new();

    /// <summary>The process and host of every rank.</summary>
    public PeerProcesses Peers { get; }

    /// <summary>
    /// Joins the MPI job this process was launched into (<c>mpiexec</c>). The launcher's announced layout must match what
    /// MPICH sees; a mismatch (typically another MPI's launcher) is an error that says how to launch.
    /// </summary>
    /// <exception cref="DistributedException">MPI cannot be loaded or initialised, or the layouts disagree.</exception>
    public static MpiCollectives Join(RankEnvironment announced, TimeSpan timeout)
    {
        MpichLibrary mpi;
        try { mpi = MpichLibrary.Load(); }
        catch (DllNotFoundException e) { throw new DistributedException(announced.Rank, e.Message, e); }
        var ownsInit = !mpi.Initialized();
        if (ownsInit)
        {
            var rc = mpi.InitThread(MpichLibrary.ThreadMultiple, out var provided);
            if (rc != 0) throw new DistributedException(announced.Rank, $"MPI_Init_thread failed: {mpi.ErrorString(rc)}");
            if (provided < MpichLibrary.ThreadMultiple)
                throw new DistributedException(announced.Rank, $"{mpi.Path} provides thread level {provided}; Omni needs MPI_THREAD_MULTIPLE (3) because autograd runs collectives.");
        }
        mpi.ReturnErrors();
        mpi.CommRank(out var rank);
        mpi.CommSize(out var size);
        if (rank != announced.Rank || size != announced.WorldSize)
            throw new DistributedException(announced.Rank,
                $"the launcher ({announced.Launcher}) announced rank {announced.Rank} of {announced.WorldSize}, but MPICH sees rank {rank} of {size}. " +
                "Launch with MPICH's own mpiexec (mpiexec.mpich), or with `omni train --nproc N`.");
        return new MpiCollectives(mpi, ownsInit, announced, timeout);
    }

    /// <inheritdoc />
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        const string name = "all_reduce";
        CollectiveArguments.Check(Layout.Rank, DeviceType.CPU, name, tensor);
        CollectiveArguments.CheckReduction(Layout.Rank, name, tensor, op);
        if (tensor.numel() == 0) return;
        Traffic.Add(name, CollectiveArguments.Bytes(tensor));
        using var _ = no_grad();
        if (tensor.dtype is ScalarType.BFloat16 or ScalarType.Float16)
        {
            using var wide = tensor.to(ScalarType.Float32);
            Reduce(wide, op, name);
            tensor.copy_(wide);
            return;
        }
        Reduce(tensor, op, name);
    }

    private void Reduce(Tensor tensor, ReduceOp op, string name)
    {
        var (type, count) = TypeOf(tensor);
        var pointer = Safetensors.NativeTensor.DevicePointer(tensor);
        Run(name, tensor, (out int r) => _mpi.Iallreduce(MpichLibrary.InPlace, pointer, count, type, OpOf(op), out r));
        if (op == ReduceOp.Average) tensor.div_(Layout.WorldSize);
    }

    /// <inheritdoc />
    public void AllGather(Tensor input, Tensor output)
    {
        const string name = "all_gather";
        CollectiveArguments.CheckPair(Layout.Rank, Layout.WorldSize, DeviceType.CPU, name, input, output);
        if (input.numel() == 0) return;
        Traffic.Add(name, CollectiveArguments.Bytes(input));
        var (type, count) = TypeOf(input, bitwise: true);
        var send = Safetensors.NativeTensor.DevicePointer(input);
        var receive = Safetensors.NativeTensor.DevicePointer(output);
        Run(name, input, (out int r) => _mpi.Iallgather(send, count, type, receive, out r));
    }

    /// <inheritdoc />
    public void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        const string name = "reduce_scatter";
        CollectiveArguments.CheckPair(Layout.Rank, Layout.WorldSize, DeviceType.CPU, name, output, input);
        CollectiveArguments.CheckReduction(Layout.Rank, name, output, op);
        if (output.numel() == 0) return;
        Traffic.Add(name, CollectiveArguments.Bytes(input));
        using var _ = no_grad();
        if (input.dtype is ScalarType.BFloat16 or ScalarType.Float16)
        {
            using var wideIn = input.to(ScalarType.Float32);
            using var wideOut = empty(output.shape, ScalarType.Float32);
            Scatter(wideIn, wideOut, op, name);
            output.copy_(wideOut);
            return;
        }
        Scatter(input, output, op, name);
    }

    private void Scatter(Tensor input, Tensor output, ReduceOp op, string name)
    {
        var (type, count) = TypeOf(output);
        var send = Safetensors.NativeTensor.DevicePointer(input);
        var receive = Safetensors.NativeTensor.DevicePointer(output);
        Run(name, output, (out int r) => _mpi.IreduceScatterBlock(send, receive, count, type, OpOf(op), out r));
        if (op == ReduceOp.Average) output.div_(Layout.WorldSize);
    }

    /// <inheritdoc />
    public void Broadcast(Tensor tensor, int root = 0)
    {
        const string name = "broadcast";
        CollectiveArguments.Check(Layout.Rank, DeviceType.CPU, name, tensor);
        if (root < 0 || root >= Layout.WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"rank {Layout.Rank}: broadcast root must be a rank below {Layout.WorldSize}.");
        if (tensor.numel() == 0) return;
        if (Layout.Rank == root) Traffic.Add(name, CollectiveArguments.Bytes(tensor));
        var (type, count) = TypeOf(tensor, bitwise: true);
        var pointer = Safetensors.NativeTensor.DevicePointer(tensor);
        Run(name, tensor, (out int r) => _mpi.Ibcast(pointer, count, type, root, out r));
    }

    /// <inheritdoc />
    public void Barrier()
    {
        Traffic.Add("barrier", 0);
        Run("barrier", null, (out int r) => _mpi.Ibarrier(out r));
    }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void Abort(string message, int exitCode = 1)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"omni: rank {Layout.Rank}: {message}");
        Console.Error.Flush();
        // mpiexec forwards each rank's output asynchronously and stops forwarding once the abort kills the job: a moment's
        // grace lets the message above reach the user.
        Thread.Sleep(200);
        _mpi.Abort(exitCode == 0 ? 1 : exitCode);
        Environment.Exit(exitCode == 0 ? 1 : exitCode); // MPI_Abort does not return; this only guards a broken library
    }

    private delegate int Start(out int request);

    private void Run(string name, Tensor? tensor, Start start)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var sequence = Interlocked.Increment(ref _sequence);
        var description = tensor is null ? $"{name} #{sequence}" : $"{name} #{sequence} ({tensor.dtype}, {tensor.numel()} elements)";
        var rc = start(out var request);
        if (rc != 0) Abort($"{description} could not start: {_mpi.ErrorString(rc)}");
        var pending = request;
        CollectiveWait.Until(() =>
        {
            var code = _mpi.Test(ref pending, out var done);
            if (code != 0) Abort($"{description} failed: {_mpi.ErrorString(code)}");
            return done;
        }, description, Timeout, Peers, m => Abort(m));
    }

    private static (int Type, int Count) TypeOf(Tensor t, bool bitwise = false) => t.dtype switch
    {
        ScalarType.Float32 => (MpichLibrary.Float, (int)t.numel()),
        ScalarType.Float64 => (MpichLibrary.Double, (int)t.numel()),
        ScalarType.Int32 => (MpichLibrary.Int32, (int)t.numel()),
        ScalarType.Int64 => (MpichLibrary.Int64, (int)t.numel()),
        ScalarType.Byte => (MpichLibrary.Byte, (int)t.numel()),
        ScalarType.BFloat16 or ScalarType.Float16 when bitwise => (MpichLibrary.UInt16, (int)t.numel()),
        _ => throw new ArgumentException($"MPI cannot reduce {t.dtype} directly."),
    };

    private static int OpOf(ReduceOp op) => op switch
    {
        ReduceOp.Sum or ReduceOp.Average => MpichLibrary.OpSum,
        ReduceOp.Max => MpichLibrary.OpMax,
        ReduceOp.Min => MpichLibrary.OpMin,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    // Host names travel as fixed 64-byte UTF-8 fields, process ids as int64: two all-gathers at start-up.
    private PeerProcesses ExchangePeers()
    {
        const int hostBytes = 64;
        var world = Layout.WorldSize;
        using var pid = tensor(new long[] { Environment.ProcessId });
        using var pids = zeros(world, ScalarType.Int64);
        var hostName = Encoding.UTF8.GetBytes(Environment.MachineName);
        var padded = new byte[hostBytes];
        Array.Copy(hostName, padded, Math.Min(hostName.Length, hostBytes));
        using var host = tensor(padded, ScalarType.Byte);
        using var hosts = zeros(world * hostBytes, ScalarType.Byte);
        var send = Safetensors.NativeTensor.DevicePointer(pid);
        var receive = Safetensors.NativeTensor.DevicePointer(pids);
        var sendHost = Safetensors.NativeTensor.DevicePointer(host);
        var receiveHosts = Safetensors.NativeTensor.DevicePointer(hosts);
        Run("start-up all_gather", null, (out int r) => _mpi.Iallgather(send, 1, MpichLibrary.Int64, receive, out r));
        Run("start-up all_gather", null, (out int r) => _mpi.Iallgather(sendHost, hostBytes, MpichLibrary.Byte, receiveHosts, out r));
        var allHosts = hosts.data<byte>().ToArray();
        var names = Enumerable.Range(0, world)
            .Select(r => Encoding.UTF8.GetString(allHosts, r * hostBytes, hostBytes).TrimEnd('\0')).ToList();
        return new PeerProcesses(names, pids.data<long>().ToArray(), Layout.Rank);
    }

    /// <summary>Finalises MPI (when this object initialised it): every rank should dispose at the end of the job.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsInit && !_mpi.Finalized()) _mpi.Finalize();
    }
}
