using System.Runtime.InteropServices;

namespace Omni.Effects.Distributed.Nccl;

/// <summary>
/// <c>cudaStreamQuery</c> on the legacy default stream, from the CUDA runtime PyTorch already loaded (<c>libcudart.so.13</c>
/// or <c>.12</c>; <c>OMNI_CUDART_LIBRARY</c> names another): lets a rank poll a collective's completion with a time limit
/// instead of blocking in a synchronise that could wait forever.
/// </summary>
internal sealed unsafe class CudaStreamQuery
{
    private const int NotReady = 600;
    private readonly delegate* unmanaged<IntPtr, int> _query;

    private CudaStreamQuery(IntPtr query) => _query = (delegate* unmanaged<IntPtr, int>)query;

    /// <summary>The query, or null when no CUDA runtime library can be found.</summary>
    public static CudaStreamQuery? TryLoad()
    {
        var chosen = Environment.GetEnvironmentVariable("OMNI_CUDART_LIBRARY");
        string[] names = string.IsNullOrWhiteSpace(chosen) ? ["libcudart.so.13", "libcudart.so.12", "libcudart.so"] : [chosen];
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle) && NativeLibrary.TryGetExport(handle, "cudaStreamQuery", out var query))
                return new CudaStreamQuery(query);
        return null;
    }

    /// <summary>True once all work queued on the default stream has finished; false while it runs; throws on a CUDA error.</summary>
    public bool DefaultStreamIdle()
    {
        var rc = _query(IntPtr.Zero);
        return rc switch
        {
            0 => true,
            NotReady => false,
            _ => throw new InvalidOperationException($"cudaStreamQuery failed with CUDA error {rc}."),
        };
    }
}
