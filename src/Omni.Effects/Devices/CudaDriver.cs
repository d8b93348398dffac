using System.Runtime.InteropServices;
using System.Text;

namespace Omni.Effects.Devices;

/// <summary>One CUDA device as the driver describes it.</summary>
/// <param name="Ordinal">Its index (<c>cuda:N</c>), after <c>CUDA_VISIBLE_DEVICES</c>.</param>
/// <param name="Name">The product name.</param>
/// <param name="TotalMemoryBytes">Its memory.</param>
/// <param name="ComputeCapability">Major and minor compute capability.</param>
public sealed record CudaDeviceInfo(int Ordinal, string Name, long TotalMemoryBytes, (int Major, int Minor) ComputeCapability)
{
    /// <summary>bfloat16 tensor-core arithmetic needs compute capability 8.0 (Ampere) or newer.</summary>
    public bool SupportsBf16 => ComputeCapability.Major >= 8;
}

/// <summary>What the NVIDIA driver reported, or why it could not be asked.</summary>
/// <param name="DriverVersion">The driver's CUDA version (e.g. 13000 for 13.0), when it answered.</param>
/// <param name="Devices">Visible devices.</param>
/// <param name="Problem">Why CUDA cannot run here (no driver, no device), or null.</param>
public sealed record CudaDriverStatus(int? DriverVersion, IReadOnlyList<CudaDeviceInfo> Devices, string? Problem)
{
    /// <summary>The driver's CUDA version as text (13.0).</summary>
    public string? DriverVersionText => DriverVersion is { } v ? $"{v / 1000}.{v % 1000 / 10}" : null;
}

/// <summary>
/// Asks the NVIDIA driver (<c>libcuda.so.1</c>, through its stable C API) for its version and devices. Loading the
/// driver library does not touch libtorch, so this is safe before the backend is chosen and leaves a CPU fallback intact.
/// </summary>
public static unsafe class CudaDriver
{
    private const int AttributeComputeCapabilityMajor = 75, AttributeComputeCapabilityMinor = 76;

    /// <summary>Probes the driver of this machine.</summary>
    public static CudaDriverStatus Probe() => Probe("libcuda.so.1");

    /// <summary>Probes the driver library <paramref name="library"/> (a name or path).</summary>
    public static CudaDriverStatus Probe(string library)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
            return new(null, [], "CUDA is not available on this operating system");
        if (!NativeLibrary.TryLoad(library, out var handle))
            return new(null, [], $"no NVIDIA driver ({library} not found)");
        try
        {
            var init = (delegate* unmanaged<uint, int>)Export(handle, "cuInit");
            var driverVersion = (delegate* unmanaged<int*, int>)Export(handle, "cuDriverGetVersion");
            var count = (delegate* unmanaged<int*, int>)Export(handle, "cuDeviceGetCount");
            var get = (delegate* unmanaged<int*, int, int>)Export(handle, "cuDeviceGet");
            var name = (delegate* unmanaged<byte*, int, int, int>)Export(handle, "cuDeviceGetName");
            var memory = (delegate* unmanaged<nuint*, int, int>)Export(handle, "cuDeviceTotalMem_v2");
            var attribute = (delegate* unmanaged<int*, int, int, int>)Export(handle, "cuDeviceGetAttribute");
            int version = 0, devices = 0;
            var versionKnown = driverVersion(&version) == 0;
            var status = init(0);
            if (status != 0)
                return new(versionKnown ? version : null, [], status == 100
                    ? "the NVIDIA driver sees no CUDA device (CUDA_ERROR_NO_DEVICE; check CUDA_VISIBLE_DEVICES)"
                    : $"the NVIDIA driver failed to initialise (cuInit error {status})");
            if (count(&devices) != 0 || devices == 0)
                return new(versionKnown ? version : null, [], "the NVIDIA driver reports no CUDA device");
            var list = new List<CudaDeviceInfo>();
            var buffer = stackalloc byte[256];
            for (var ordinal = 0; ordinal < devices; ordinal++)
            {
                int device = 0, major = 0, minor = 0;
                nuint bytes = 0;
                if (get(&device, ordinal) != 0) continue;
                var text = name(buffer, 256, device) == 0 ? Encoding.UTF8.GetString(buffer, IndexOfZero(buffer, 256)) : "unknown";
                memory(&bytes, device);
                attribute(&major, AttributeComputeCapabilityMajor, device);
                attribute(&minor, AttributeComputeCapabilityMinor, device);
                list.Add(new CudaDeviceInfo(ordinal, text, (long)bytes, (major, minor)));
            }
            return new(versionKnown ? version : null, list, null);
        }
        catch (EntryPointNotFoundException e)
        {
            return new(null, [], $"{library} lacks a driver function ({e.Message})");
        }
    }

    private static nint Export(nint handle, string name) =>
        NativeLibrary.TryGetExport(handle, name, out var address) ? address : throw new EntryPointNotFoundException(name);

    private static int IndexOfZero(byte* text, int length)
    {
        var i = 0;
        while (i < length && text[i] != 0) i++;
        return i;
    }
}
