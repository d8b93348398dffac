using System.Runtime.InteropServices;

namespace Omni.Effects.Distributed.Nccl;

/// <summary>NCCL's 128-byte unique id (<c>ncclUniqueId</c>), passed by value to <c>ncclCommInitRank</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NcclUniqueId
{
    public const int Size = 128;
    public fixed byte Internal[Size];
}

/// <summary>
/// The NCCL entry points Omni uses, bound at run time from <c>libnccl.so.2</c> (PyTorch's CUDA libraries load it already;
/// <c>OMNI_NCCL_LIBRARY</c> names another). Types and operations are <c>nccl.h</c>'s enum values.
/// </summary>
internal sealed unsafe class NcclLibrary
{
    public const int Success = 0;
    public const int InProgress = 7;

    public const int Uint8 = 1;
    public const int Int32 = 2;
    public const int Int64 = 4;
    public const int Float16 = 6;
    public const int Float32 = 7;
    public const int Float64 = 8;
    public const int Bfloat16 = 9;

    public const int Sum = 0;
    public const int Max = 2;
    public const int Min = 3;
    public const int Avg = 4;

    private readonly delegate* unmanaged<int*, int> _getVersion;
    private readonly delegate* unmanaged<NcclUniqueId*, int> _getUniqueId;
    private readonly delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int> _commInitRank;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> _allReduce;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, IntPtr, int> _allGather;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> _reduceScatter;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> _broadcast;
    private readonly delegate* unmanaged<IntPtr, int*, int> _commGetAsyncError;
    private readonly delegate* unmanaged<int, IntPtr> _getErrorString;
    private readonly delegate* unmanaged<IntPtr, int> _commAbort;
    private readonly delegate* unmanaged<IntPtr, int> _commDestroy;

    private NcclLibrary(IntPtr handle, string name)
    {
        Path = name;
        IntPtr F(string export) => NativeLibrary.TryGetExport(handle, export, out var f) ? f
            : throw new DllNotFoundException($"'{name}' has no {export}: NCCL 2.10 or newer is needed.");
        _getVersion = (delegate* unmanaged<int*, int>)F("ncclGetVersion");
        _getUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)F("ncclGetUniqueId");
        _commInitRank = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)F("ncclCommInitRank");
        _allReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)F("ncclAllReduce");
        _allGather = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, IntPtr, int>)F("ncclAllGather");
        _reduceScatter = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)F("ncclReduceScatter");
        _broadcast = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)F("ncclBroadcast");
        _commGetAsyncError = (delegate* unmanaged<IntPtr, int*, int>)F("ncclCommGetAsyncError");
        _getErrorString = (delegate* unmanaged<int, IntPtr>)F("ncclGetErrorString");
        _commAbort = (delegate* unmanaged<IntPtr, int>)F("ncclCommAbort");
        _commDestroy = (delegate* unmanaged<IntPtr, int>)F("ncclCommDestroy");
    }

    /// <summary>The library's name as loaded.</summary>
    public string Path { get; }

    /// <summary>Loads <c>OMNI_NCCL_LIBRARY</c> or <c>libnccl.so.2</c> (already in the process when PyTorch's CUDA libraries are).</summary>
    public static NcclLibrary Load()
    {
        var chosen = Environment.GetEnvironmentVariable("OMNI_NCCL_LIBRARY");
        var name = string.IsNullOrWhiteSpace(chosen) ? "libnccl.so.2" : chosen;
        return NativeLibrary.TryLoad(name, out var handle)
            ? new NcclLibrary(handle, name)
            : throw new DllNotFoundException($"NCCL ('{name}') could not be loaded. It ships with PyTorch's CUDA wheels (nvidia-nccl); " +
                                             "point OMNI_NCCL_LIBRARY at libnccl.so.2, or use the MPI backend on CPU tensors.");
    }

    public string Version()
    {
        int v;
        if (_getVersion(&v) != Success) return "NCCL";
        // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
        return $"NCCL {v / 10000}.{v / 100 % 100}.{v % 100}";
    }

    public int GetUniqueId(out NcclUniqueId id)
    {
        NcclUniqueId local;
        var rc = _getUniqueId(&local);
        id = local;
        return rc;
    }

    public int CommInitRank(out IntPtr comm, int ranks, NcclUniqueId id, int rank)
    {
        IntPtr c;
        var rc = _commInitRank(&c, ranks, id, rank);
        comm = c;
        return rc;
    }

    public int AllReduce(IntPtr send, IntPtr receive, long count, int type, int op, IntPtr comm) =>
        _allReduce(send, receive, (nuint)count, type, op, comm, IntPtr.Zero);

    public int AllGather(IntPtr send, IntPtr receive, long sendCount, int type, IntPtr comm) =>
        _allGather(send, receive, (nuint)sendCount, type, comm, IntPtr.Zero);

    public int ReduceScatter(IntPtr send, IntPtr receive, long receiveCount, int type, int op, IntPtr comm) =>
        _reduceScatter(send, receive, (nuint)receiveCount, type, op, comm, IntPtr.Zero);

    public int Broadcast(IntPtr buffer, long count, int type, int root, IntPtr comm) =>
        _broadcast(buffer, buffer, (nuint)count, type, root, comm, IntPtr.Zero);

    public int AsyncError(IntPtr comm) { int e; var rc = _commGetAsyncError(comm, &e); return rc != Success ? rc : e; }

    public string ErrorString(int code) => Marshal.PtrToStringAnsi(_getErrorString(code)) ?? $"NCCL error {code}";

    public int Abort(IntPtr comm) => _commAbort(comm);

    public int Destroy(IntPtr comm) => _commDestroy(comm);
}
