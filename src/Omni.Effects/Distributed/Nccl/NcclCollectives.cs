using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Nccl;

/// <summary>
/// Collectives over NCCL on CUDA tensors: one communicator per job, every call on the legacy default stream (stream 0,
/// the one TorchSharp's kernels run on, so no extra synchronisation is needed), reductions in the tensor's own dtype
/// (float32, bfloat16, float16; Average is NCCL's <c>ncclAvg</c>). Each call is awaited by polling the stream and the
/// communicator's asynchronous error with the job's time limit, so a dead peer aborts the communicator instead of
/// hanging the rank. The unique id reaches the other ranks over MPI when the job was started by <c>mpiexec</c>
/// (the MPI control channel), else through <c>NCCL_COMM_ID=host:port</c> set on every rank.
/// </summary>
public sealed class NcclCollectives : ICollectives
{
    private readonly NcclLibrary _nccl;
    private readonly CudaStreamQuery? _stream;
    private readonly ICollectives? _control;
    private IntPtr _comm;
    private long _sequence;

    private NcclCollectives(NcclLibrary nccl, CudaStreamQuery? stream, IntPtr comm, RankEnvironment layout, TimeSpan timeout, ICollectives? control, Device device)
    {
        (_nccl, _stream, _comm, Layout, Timeout, _control, Device) = (nccl, stream, comm, layout, timeout, control, device);
        Backend = nccl.Version();
    }

    /// <inheritdoc />
    public RankEnvironment Layout { get; }

    /// <inheritdoc />
    public string Backend { get; }

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public TimeSpan Timeout { get; }

    /// <inheritdoc />
    public CollectiveTraffic Traffic { get; } = new();

    /// <summary>
    /// Creates the communicator of this job on CUDA device 0 of this process (one GPU per process: the launcher sets
    /// <c>CUDA_VISIBLE_DEVICES</c> to the local rank). <paramref name="control"/> (an MPI job, or null) carries the unique id.
    /// </summary>
    /// <exception cref="DistributedException">No CUDA device, no NCCL, or no way to share the unique id.</exception>
    public static unsafe NcclCollectives Join(RankEnvironment layout, TimeSpan timeout, ICollectives? control)
    {
        if (!cuda.is_available())
            throw new DistributedException(layout.Rank, "the NCCL backend needs CUDA tensors, but this process has no CUDA device. Use the MPI backend on the CPU.");
        NcclLibrary nccl;
        try { nccl = NcclLibrary.Load(); }
        catch (DllNotFoundException e) { throw new DistributedException(layout.Rank, e.Message, e); }
        var device = new Device(DeviceType.CUDA, 0);
        NcclUniqueId id = default;
        if (layout.WorldSize == 1 || layout.Rank == 0 || Environment.GetEnvironmentVariable("NCCL_COMM_ID") is not null)
            Check(layout.Rank, nccl, nccl.GetUniqueId(out id), "ncclGetUniqueId");
        if (layout.WorldSize > 1 && Environment.GetEnvironmentVariable("NCCL_COMM_ID") is null)
        {
            if (control is null || control.Device.type != DeviceType.CPU)
                throw new DistributedException(layout.Rank, "NCCL with several ranks needs its unique id shared: launch with mpiexec (MPI carries it) or set NCCL_COMM_ID=host:port on every rank.");
            var bytes = new byte[NcclUniqueId.Size];
            for (var i = 0; i < bytes.Length; i++) bytes[i] = id.Internal[i];
            using var shared = tensor(bytes, ScalarType.Byte);
            control.Broadcast(shared, root: 0);
            var received = shared.data<byte>().ToArray();
            for (var i = 0; i < bytes.Length; i++) id.Internal[i] = received[i];
        }
        Check(layout.Rank, nccl, nccl.CommInitRank(out var comm, layout.WorldSize, id, layout.Rank), "ncclCommInitRank");
        return new NcclCollectives(nccl, CudaStreamQuery.TryLoad(), comm, layout, timeout, control, device);
    }

    private static void Check(int rank, NcclLibrary nccl, int code, string call)
    {
        if (code != NcclLibrary.Success) throw new DistributedException(rank, $"{call} failed: {nccl.ErrorString(code)} (NCCL error {code}).");
    }

    /// <inheritdoc />
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        const string name = "all_reduce";
        CollectiveArguments.Check(Layout.Rank, DeviceType.CUDA, name, tensor);
        CollectiveArguments.CheckReduction(Layout.Rank, name, tensor, op);
        if (tensor.numel() == 0) return;
        Traffic.Add(name, CollectiveArguments.Bytes(tensor));
        var pointer = Safetensors.NativeTensor.DevicePointer(tensor);
        Run(name, tensor, () => _nccl.AllReduce(pointer, pointer, tensor.numel(), TypeOf(tensor), OpOf(op), _comm));
    }

    /// <inheritdoc />
    public void AllGather(Tensor input, Tensor output)
    {
        const string name = "all_gather";
        CollectiveArguments.CheckPair(Layout.Rank, Layout.WorldSize, DeviceType.CUDA, name, input, output);
        if (input.numel() == 0) return;
        Traffic.Add(name, CollectiveArguments.Bytes(input));
        var (send, receive) = (Safetensors.NativeTensor.DevicePointer(input), Safetensors.NativeTensor.DevicePointer(output));
        Run(name, input, () => _nccl.AllGather(send, receive, input.numel(), TypeOf(input), _comm));
    }

    /// <inheritdoc />
    public void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        const string name = "reduce_scatter";
        CollectiveArguments.CheckPair(Layout.Rank, Layout.WorldSize, DeviceType.CUDA, name, output, input);
        CollectiveArguments.CheckReduction(Layout.Rank, name, output, op);
        if (output.numel() == 0) return;
        Traffic.Add(name, CollectiveArguments.Bytes(input));
        var (send, receive) = (Safetensors.NativeTensor.DevicePointer(input), Safetensors.NativeTensor.DevicePointer(output));
        Run(name, output, () => _nccl.ReduceScatter(send, receive, output.numel(), TypeOf(output), OpOf(op), _comm));
    }

    /// <inheritdoc />
    public void Broadcast(Tensor tensor, int root = 0)
    {
        const string name = "broadcast";
        CollectiveArguments.Check(Layout.Rank, DeviceType.CUDA, name, tensor);
        if (root < 0 || root >= Layout.WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"rank {Layout.Rank}: broadcast root must be a rank below {Layout.WorldSize}.");
        if (tensor.numel() == 0) return;
        if (Layout.Rank == root) Traffic.Add(name, CollectiveArguments.Bytes(tensor));
        var pointer = Safetensors.NativeTensor.DevicePointer(tensor);
        Run(name, tensor, () => _nccl.Broadcast(pointer, tensor.numel(), TypeOf(tensor), root, _comm));
    }

    /// <inheritdoc />
    public void Barrier()
    {
        using var token = zeros(1, ScalarType.Float32, Device);
        AllReduce(token);
    }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void Abort(string message, int exitCode = 1)
    {
        if (_comm != IntPtr.Zero) _nccl.Abort(_comm);
        _comm = IntPtr.Zero;
        if (_control is not null) _control.Abort(message, exitCode);
        Console.Out.Flush();
        Console.Error.WriteLine($"omni: rank {Layout.Rank}: {message}");
        Environment.Exit(exitCode == 0 ? 1 : exitCode);
        throw new InvalidOperationException("unreachable");
    }

    // Enqueue on stream 0, then wait for the stream with the job's time limit while watching the communicator's errors.
    // Without a CUDA runtime to poll, fall back to a (bounded only by NCCL's own timeouts) device synchronise.
    private void Run(string name, Tensor tensor, Func<int> enqueue)
    {
        if (_comm == IntPtr.Zero) throw new ObjectDisposedException(nameof(NcclCollectives));
        var description = $"{name} #{Interlocked.Increment(ref _sequence)} ({tensor.dtype}, {tensor.numel()} elements)";
        var rc = enqueue();
        if (rc != NcclLibrary.Success && rc != NcclLibrary.InProgress) Abort($"{description} failed: {_nccl.ErrorString(rc)}");
        if (_stream is null)
        {
            cuda.synchronize();
            return;
        }
        CollectiveWait.Until(() =>
        {
            var error = _nccl.AsyncError(_comm);
            if (error != NcclLibrary.Success && error != NcclLibrary.InProgress) Abort($"{description} failed: {_nccl.ErrorString(error)}");
            return _stream.DefaultStreamIdle();
        }, description, Timeout, (_control as Mpi.MpiCollectives)?.Peers, m => Abort(m));
    }

    private static int TypeOf(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => NcclLibrary.Float32,
        ScalarType.BFloat16 => NcclLibrary.Bfloat16,
        ScalarType.Float16 => NcclLibrary.Float16,
        ScalarType.Float64 => NcclLibrary.Float64,
        ScalarType.Int32 => NcclLibrary.Int32,
        ScalarType.Int64 => NcclLibrary.Int64,
        ScalarType.Byte => NcclLibrary.Uint8,
        _ => throw new ArgumentException($"NCCL cannot carry {t.dtype}."),
    };

    private static int OpOf(ReduceOp op) => op switch
    {
        ReduceOp.Sum => NcclLibrary.Sum,
        ReduceOp.Average => NcclLibrary.Avg,
        ReduceOp.Max => NcclLibrary.Max,
        ReduceOp.Min => NcclLibrary.Min,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    /// <summary>Destroys the communicator (and finalises the MPI control channel when there is one).</summary>
    public void Dispose()
    {
        if (_comm != IntPtr.Zero) _nccl.Destroy(_comm);
        _comm = IntPtr.Zero;
        _control?.Dispose();
    }
}
