using System.Runtime.InteropServices;
using System.Text;

namespace Omni.Effects.Distributed.Mpi;

/// <summary>
/// The dozen MPICH entry points Omni uses, bound at run time from <c>libmpich.so.12</c> (or the library named by
/// <c>OMNI_MPI_LIBRARY</c>; any MPICH-ABI library such as Intel MPI's <c>libmpi.so.12</c> works). Handles and constants are
/// MPICH's integer ABI (<c>mpi.h</c> of MPICH 3.x/4.x); Open MPI uses pointers instead and cannot be loaded this way.
/// Buffers are raw addresses of tensor memory: nothing is copied element by element.
/// </summary>
internal sealed unsafe class MpichLibrary
{
    public const int CommWorld = 0x44000000;
    public const int RequestNull = 0x2c000000;
    public const int ErrorsReturn = 0x54000001;
    public const int ThreadMultiple = 3;
    public static readonly IntPtr InPlace = new(-1);

    public const int Byte = 0x4c00010d;
    public const int Int32 = 0x4c000405;
    public const int Int64 = 0x4c00083a;
    public const int UInt16 = 0x4c00023c;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;

    public const int OpMax = 0x58000001;
    public const int OpMin = 0x58000002;
    public const int OpSum = 0x58000003;

    /// <summary>The candidates tried in order when <c>OMNI_MPI_LIBRARY</c> is not set.</summary>
    public static readonly string[] DefaultNames = ["libmpich.so.12", "libmpich.so", "libmpi.so.12"];

    private readonly delegate* unmanaged<int*, IntPtr, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int*, int> _initialized;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<int, int*, int> _commRank;
    private readonly delegate* unmanaged<int, int*, int> _commSize;
    private readonly delegate* unmanaged<int, int, int> _commSetErrhandler;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int*, int> _iallreduce;
    private readonly delegate* unmanaged<IntPtr, int, int, IntPtr, int, int, int, int*, int> _iallgather;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int*, int> _ireduceScatterBlock;
    private readonly delegate* unmanaged<IntPtr, int, int, int, int, int*, int> _ibcast;
    private readonly delegate* unmanaged<int, int*, int> _ibarrier;
    private readonly delegate* unmanaged<int*, int*, int*, int> _test;
    private readonly delegate* unmanaged<int, int, int> _abort;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly delegate* unmanaged<byte*, int*, int> _libraryVersion;

    private MpichLibrary(IntPtr handle, string path)
    {
        Path = path;
        IntPtr F(string name) => NativeLibrary.TryGetExport(handle, name, out var f) ? f
            : throw new DllNotFoundException($"'{path}' has no {name}: it is not an MPICH-compatible MPI library (MPI-3 or newer).");
        _initThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)F("MPI_Init_thread");
        _initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        _finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        _commRank = (delegate* unmanaged<int, int*, int>)F("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<int, int*, int>)F("MPI_Comm_size");
        _commSetErrhandler = (delegate* unmanaged<int, int, int>)F("MPI_Comm_set_errhandler");
        _iallreduce = (delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int*, int>)F("MPI_Iallreduce");
        _iallgather = (delegate* unmanaged<IntPtr, int, int, IntPtr, int, int, int, int*, int>)F("MPI_Iallgather");
        _ireduceScatterBlock = (delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int*, int>)F("MPI_Ireduce_scatter_block");
        _ibcast = (delegate* unmanaged<IntPtr, int, int, int, int, int*, int>)F("MPI_Ibcast");
        _ibarrier = (delegate* unmanaged<int, int*, int>)F("MPI_Ibarrier");
        _test = (delegate* unmanaged<int*, int*, int*, int>)F("MPI_Test");
        _abort = (delegate* unmanaged<int, int, int>)F("MPI_Abort");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        _libraryVersion = (delegate* unmanaged<byte*, int*, int>)F("MPI_Get_library_version");
    }

    /// <summary>The file the library was loaded from.</summary>
    public string Path { get; }

    /// <summary>
    /// Loads the MPI library named by <c>OMNI_MPI_LIBRARY</c>, else the first of <see cref="DefaultNames"/> the dynamic loader
    /// finds. Throws <see cref="DllNotFoundException"/> with the install command when none loads.
    /// </summary>
    public static MpichLibrary Load()
    {
        var chosen = Environment.GetEnvironmentVariable("OMNI_MPI_LIBRARY");
        var names = string.IsNullOrWhiteSpace(chosen) ? DefaultNames : [chosen];
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle)) return new MpichLibrary(handle, name);
        throw new DllNotFoundException(string.IsNullOrWhiteSpace(chosen)
            ? $"No MPICH library found (tried {string.Join(", ", DefaultNames)}). Install MPICH (Debian/Ubuntu: apt-get install -y mpich libmpich-dev) or set OMNI_MPI_LIBRARY to an MPICH-ABI libmpi. Open MPI is not supported."
            : $"OMNI_MPI_LIBRARY='{chosen}' could not be loaded.");
    }

    public int InitThread(int required, out int provided)
    {
        int p;
        var rc = _initThread(null, IntPtr.Zero, required, &p);
        provided = p;
        return rc;
    }

    public bool Initialized() { int f; _initialized(&f); return f != 0; }
    public bool Finalized() { int f; _finalized(&f); return f != 0; }
    public int Finalize() => _finalize();
    public int CommRank(out int rank) { int r; var rc = _commRank(CommWorld, &r); rank = r; return rc; }
    public int CommSize(out int size) { int s; var rc = _commSize(CommWorld, &s); size = s; return rc; }
    public int ReturnErrors() => _commSetErrhandler(CommWorld, ErrorsReturn);

    public int Iallreduce(IntPtr send, IntPtr receive, int count, int type, int op, out int request)
    { int r; var rc = _iallreduce(send, receive, count, type, op, CommWorld, &r); request = r; return rc; }

    public int Iallgather(IntPtr send, int count, int type, IntPtr receive, out int request)
    { int r; var rc = _iallgather(send, count, type, receive, count, type, CommWorld, &r); request = r; return rc; }

    public int IreduceScatterBlock(IntPtr send, IntPtr receive, int count, int type, int op, out int request)
    { int r; var rc = _ireduceScatterBlock(send, receive, count, type, op, CommWorld, &r); request = r; return rc; }

    public int Ibcast(IntPtr buffer, int count, int type, int root, out int request)
    { int r; var rc = _ibcast(buffer, count, type, root, CommWorld, &r); request = r; return rc; }

    public int Ibarrier(out int request) { int r; var rc = _ibarrier(CommWorld, &r); request = r; return rc; }

    /// <summary>MPI_Test: whether the request finished (the request handle is reset to null when it has).</summary>
    public int Test(ref int request, out bool done)
    {
        int flag;
        var status = stackalloc int[5];
        int r = request;
        var rc = _test(&r, &flag, status);
        request = r;
        done = flag != 0;
        return rc;
    }

    public void Abort(int code) => _abort(CommWorld, code);

    public string ErrorString(int code)
    {
        var buffer = stackalloc byte[512];
        int length;
        return _errorString(code, buffer, &length) == 0 ? Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, 512)) : $"MPI error {code}";
    }

    public string LibraryVersion()
    {
        var buffer = new byte[8192];
        int length;
        fixed (byte* b = buffer) _libraryVersion(b, &length);
        var text = Encoding.ASCII.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)).Trim('\0', ' ', '\n');
        var firstLine = text.Split('\n')[0].Trim();
        return firstLine.Replace("MPICH Version:", "MPICH", StringComparison.Ordinal).Replace("\t", " ").Trim();
    }
}
