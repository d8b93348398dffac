using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Effects.Devices;

/// <summary>Moving tensors and modules to a device without copying what is already there.</summary>
public static class Placement
{
    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are the same device (CUDA index included).</summary>
    public static bool Same(Device a, Device b) => a.type == b.type && (a.type != DeviceType.CUDA || Index(a) == Index(b));

    /// <summary><paramref name="tensor"/> itself when it is on <paramref name="device"/>, else a copy there.</summary>
    public static Tensor On(this Tensor tensor, Device device) => Same(tensor.device, device) ? tensor : tensor.to(device);

    /// <summary>Moves <paramref name="module"/> to <paramref name="device"/> in place unless its parameters are there already
    /// (moving replaces the parameter objects: build optimizers afterwards).</summary>
    public static T MoveTo<T>(this T module, Device device) where T : nn.Module
    {
        var first = module.parameters().FirstOrDefault();
        if (first is null || !Same(first.device, device)) module.to(device);
        return module;
    }

    /// <summary>The device of a module's first parameter (the CPU for a module without parameters).</summary>
    public static Device DeviceOf(nn.Module module) => module.parameters().FirstOrDefault()?.device ?? CPU;

    // cuda and cuda:0 are the same device.
    private static long Index(Device d) => d.index < 0 ? 0 : d.index;
}
