using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>
/// The address of a tensor's first element (storage offset included), from the same native entry point TorchSharp's own
/// accessors use. Valid only for a contiguous tensor and only while it is alive.
/// </summary>
internal static class NativeTensor
{
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    public static IntPtr DataPointer(Tensor tensor)
    {
        if (tensor.device_type != TorchSharp.DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("Raw access needs a contiguous CPU tensor.", nameof(tensor));
        var pointer = THSTensor_data(tensor.Handle);
        if (pointer == IntPtr.Zero && tensor.numel() > 0) throw new InvalidOperationException("libtorch returned no data pointer for a non-empty tensor.");
        return pointer;
    }

    /// <summary>The address of a contiguous tensor's first element on whatever device it lives (a CUDA address for a GPU tensor).</summary>
    public static IntPtr DevicePointer(Tensor tensor)
    {
        if (!tensor.is_contiguous()) throw new ArgumentException("Raw access needs a contiguous tensor.", nameof(tensor));
        var pointer = THSTensor_data(tensor.Handle);
        if (pointer == IntPtr.Zero && tensor.numel() > 0) throw new InvalidOperationException("libtorch returned no data pointer for a non-empty tensor.");
        return pointer;
    }
}
