namespace Omni.Algebra.Devices;

/// <summary>
/// Where a process runs its tensors: the requested device and, optionally, the libtorch folder to bring CUDA up from.
/// Bound from configuration (<c>omni:device</c>, <c>omni:libtorch_dir</c>), the <c>--device</c> flag, or built in code;
/// the environment variable <c>OMNI_LIBTORCH_DIR</c> stands in for <see cref="LibTorchDirectory"/> when it is unset.
/// Consumed once per process by <c>Omni.Effects.Devices.TorchBackend.Initialize</c>, before any other torch call.
/// </summary>
public sealed record DeviceSettings
{
    /// <summary>The requested device (default <c>auto</c>).</summary>
    public DeviceRequest Device { get; init; } = DeviceRequest.Auto;

    /// <summary>
    /// A folder holding a CUDA build of libtorch (a PyTorch install's <c>torch/lib</c>, or <c>libtorch/lib</c>); when set,
    /// it is the only place CUDA is looked for. Null: <c>OMNI_LIBTORCH_DIR</c>, then discovery of an installed PyTorch.
    /// </summary>
    public string? LibTorchDirectory { get; init; }

    /// <summary>Allow TF32 tensor-core matmuls for float32 on CUDA (faster, about 10 mantissa bits). Off by default, as in
    /// PyTorch, and always off for parity checks.</summary>
    public bool AllowTf32 { get; init; }

    /// <summary>The CPU, nothing else: what tests and tools get by default.</summary>
    public static DeviceSettings Cpu { get; } = new() { Device = DeviceRequest.Cpu };

    /// <summary>Settings for a request.</summary>
    public static DeviceSettings For(DeviceRequest device) => new() { Device = device };
}
