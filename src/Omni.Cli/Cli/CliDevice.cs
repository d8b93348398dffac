using Microsoft.Extensions.Configuration;
using Omni.Algebra.Devices;
using Omni.Algebra.Errors;
using Omni.Effects.Devices;

namespace Omni.Cli.Cli;

/// <summary>
/// Chooses the device of a command before it makes any torch call, from the configuration keys <c>omni:device</c>
/// (what <c>--device</c> sets), <c>omni:libtorch_dir</c> and <c>omni:allow_tf32</c>, and prints which device and libtorch
/// the command runs on as its first line of output.
/// </summary>
public static class CliDevice
{
    /// <summary>The configuration key of the device.</summary>
    public const string DeviceKey = "omni:device";

    /// <summary>The configuration key of the CUDA libtorch folder.</summary>
    public const string LibTorchDirKey = "omni:libtorch_dir";

    /// <summary>The device settings the configuration asks for.</summary>
    /// <exception cref="OmniException">The device string or the TF32 flag is not valid.</exception>
    public static DeviceSettings Settings(IConfiguration configuration)
    {
        var device = DeviceRequest.Parse(configuration[DeviceKey] ?? "auto").OrThrow();
        var tf32Text = configuration["omni:allow_tf32"];
        if (tf32Text is not null && !bool.TryParse(tf32Text, out _))
            throw new OmniException([OmniError.Invalid($"omni:allow_tf32 must be true or false, got '{tf32Text}'.")]);
        return new DeviceSettings { Device = device, LibTorchDirectory = configuration[LibTorchDirKey], AllowTf32 = tf32Text is not null && bool.Parse(tf32Text) };
    }

    /// <summary>
    /// Brings the backend up and, when <paramref name="announce"/> (rank 0 of a multi-rank job, or a lone process), prints
    /// the first line (<c>omni: device … — libtorch … from …</c>).
    /// </summary>
    /// <exception cref="OmniException">An explicit CUDA request that cannot be met; the message lists every location tried.</exception>
    public static BackendInfo Select(IConfiguration configuration, bool announce = true)
    {
        var backend = TorchBackend.Initialize(Settings(configuration));
        if (announce) Console.WriteLine($"omni: {backend.Describe()}");
        return backend;
    }

    /// <summary>The same for commands whose only configuration is <c>--device</c> and the <c>OMNI_</c> environment.</summary>
    public static BackendInfo Select(string? device) =>
        Select(CliConfiguration.Build(null, CommonOptions.Pairs((DeviceKey, device))));
}
