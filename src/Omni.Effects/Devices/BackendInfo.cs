using static TorchSharp.torch;

namespace Omni.Effects.Devices;

/// <summary>Which libtorch build a process runs on.</summary>
public enum BackendKind
{
    /// <summary>The CPU build (bundled with Omni, or the CPU part of a CUDA install when CUDA did not come up).</summary>
    Cpu,
    /// <summary>A CUDA build loaded from a PyTorch or libtorch installation.</summary>
    Cuda,
}

/// <summary>A device the backend can run on, for reports.</summary>
/// <param name="Name">Its name (CPU model, or CUDA product name with its index).</param>
/// <param name="MemoryBytes">Its memory (the machine's RAM for the CPU).</param>
/// <param name="Bf16">bfloat16 support in words: native, emulated, or not supported.</param>
public sealed record ComputeDeviceInfo(string Name, long MemoryBytes, string Bf16)
{
    /// <summary>Memory in GiB, one decimal.</summary>
    public string Memory => $"{MemoryBytes / (double)(1L << 30):F1} GiB";
}

/// <summary>The backend this process runs on, chosen once by <see cref="TorchBackend.Initialize"/>.</summary>
/// <param name="Kind">CPU or CUDA.</param>
/// <param name="Device">The torch device tensors and models go to.</param>
/// <param name="LibTorchFolder">The folder the running libtorch was loaded from (read from the process's mappings).</param>
/// <param name="LibTorchVersion">Its version.</param>
/// <param name="CudaDriverVersion">The NVIDIA driver's CUDA version, when one answered.</param>
/// <param name="Devices">The devices of this backend (the CPU, or every visible CUDA device).</param>
/// <param name="Bf16Supported">Whether bfloat16 arithmetic is available on <see cref="Device"/>.</param>
/// <param name="CudaNotes">Why CUDA was not used, when <c>auto</c> fell back to the CPU (every location tried).</param>
public sealed record BackendInfo(
    BackendKind Kind, Device Device, string LibTorchFolder, string LibTorchVersion, string? CudaDriverVersion,
    IReadOnlyList<ComputeDeviceInfo> Devices, bool Bf16Supported, IReadOnlyList<string> CudaNotes)
{
    /// <summary>The device as PyTorch spells it (<c>cpu</c>, <c>cuda:0</c>).</summary>
    public string DeviceName => Kind == BackendKind.Cuda ? $"cuda:{Device.index}" : "cpu";

    /// <summary>One line for the top of a command's output: the device and the libtorch behind it.</summary>
    public string Describe()
    {
        var device = Kind == BackendKind.Cuda && Device.index >= 0 && Device.index < Devices.Count
            ? $"{DeviceName} ({Devices[(int)Device.index].Name}, {Devices[(int)Device.index].Memory})"
            : DeviceName;
        var line = $"device {device} — libtorch {LibTorchVersion} ({(Kind == BackendKind.Cuda ? "CUDA" : "CPU")}) from {LibTorchFolder}";
        return CudaNotes.Count > 0 ? $"{line}; CUDA not used ({CudaNotes.Count} location(s) tried, --device cuda lists them)" : line;
    }
}
