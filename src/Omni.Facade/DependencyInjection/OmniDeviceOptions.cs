using Microsoft.Extensions.Configuration;
using Omni.Algebra.Devices;

namespace Omni.Facade.DependencyInjection;

/// <summary>
/// The device section of a host's configuration (<c>omni:device</c>, <c>omni:libtorch_dir</c>, <c>omni:allow_tf32</c>),
/// the same keys the <c>omni</c> command reads.
/// </summary>
public sealed class OmniDeviceOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string Section = "omni";

    /// <summary><c>auto</c> (default), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>A folder with a CUDA build of libtorch; null: <c>OMNI_LIBTORCH_DIR</c>, then an installed PyTorch.</summary>
    [ConfigurationKeyName("libtorch_dir")]
    public string? LibTorchDir { get; set; }

    /// <summary>Allow TF32 matmuls for float32 on CUDA.</summary>
    [ConfigurationKeyName("allow_tf32")]
    public bool AllowTf32 { get; set; }

    /// <summary>The settings for <see cref="Omni.Effects.Devices.TorchBackend.Initialize"/>, or the parse error.</summary>
    public LanguageExt.Either<Omni.Algebra.Errors.OmniError, DeviceSettings> ToSettings() =>
        DeviceRequest.Parse(Device).Map(request => new DeviceSettings { Device = request, LibTorchDirectory = LibTorchDir, AllowTf32 = AllowTf32 });
}
