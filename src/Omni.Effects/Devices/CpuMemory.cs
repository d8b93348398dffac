using System.Runtime.InteropServices;

namespace Omni.Effects.Devices;

/// <summary>
/// Process-wide tuning of glibc's allocator for tensor workloads on the CPU. libtorch allocates CPU tensors
/// with plain <c>malloc</c>; by default glibc serves multi-megabyte blocks with fresh <c>mmap</c>s and returns
/// freed heap tops to the kernel, so a loop that allocates and frees same-sized tensors page-faults on every
/// step (measured: an SDE step on (32, 1024, 64) float32 tensors drops from tens of milliseconds to about
/// 1.3 ms). Opt-in because it changes the whole process; a no-op off glibc.
/// </summary>
public static class CpuMemory
{
    private const int TrimThreshold = -1;
    private const int TopPad = -2;
    private const int MmapThreshold = -3;

    /// <summary>
    /// Keeps freed tensor memory in the process for reuse: blocks up to 32 MiB come from the heap rather than
    /// <c>mmap</c>, and the heap is not trimmed below 1 GiB of free space. Returns whether glibc accepted it.
    /// </summary>
    public static bool RetainFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return mallopt(MmapThreshold, 32 * 1024 * 1024) == 1
                   & mallopt(TrimThreshold, 1024 * 1024 * 1024) == 1
                   & mallopt(TopPad, 64 * 1024 * 1024) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. musl): nothing to tune
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int parameter, int value);
}
