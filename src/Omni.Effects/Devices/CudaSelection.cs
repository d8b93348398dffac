using Omni.Algebra.Devices;

namespace Omni.Effects.Devices;

/// <summary>What was found for CUDA before anything was loaded: the folder to load from, if any, and every location tried.</summary>
/// <param name="Chosen">The first usable libtorch folder, or null.</param>
/// <param name="Driver">What the NVIDIA driver said.</param>
/// <param name="Tried">One line per location looked at, with its verdict, in order.</param>
public sealed record CudaPlan(LibTorchInspection? Chosen, CudaDriverStatus Driver, IReadOnlyList<string> Tried)
{
    /// <summary>Whether CUDA can be attempted for <paramref name="request"/>: a usable folder, a driver and the device.</summary>
    public string? Obstacle(DeviceRequest request) =>
        Chosen is null ? "no usable CUDA build of libtorch was found"
        : Driver.Problem is { } problem ? problem
        : request.CudaOrdinal >= Driver.Devices.Count
            ? $"{request} was requested but the driver shows {Driver.Devices.Count} CUDA device(s) (cuda:0 … cuda:{Driver.Devices.Count - 1})"
            : null;
}

/// <summary>
/// The pure part of bringing CUDA up: which folder to try from what the environment offers, and the message that lists
/// every location tried when it cannot come up. An explicit folder (<see cref="DeviceSettings.LibTorchDirectory"/>, else
/// <c>OMNI_LIBTORCH_DIR</c>) is the only place looked at when given; otherwise discovered PyTorch installs in order.
/// </summary>
public static class CudaSelection
{
    /// <summary>The environment variable naming a libtorch folder.</summary>
    public const string LibTorchDirVariable = "OMNI_LIBTORCH_DIR";

    /// <summary>The explicit candidate, when the settings or the environment name one.</summary>
    public static LibTorchCandidate? Explicit(DeviceSettings settings, string? environmentValue) =>
        !string.IsNullOrWhiteSpace(settings.LibTorchDirectory) ? new(Path.GetFullPath(settings.LibTorchDirectory), "the libtorch_dir setting")
        : !string.IsNullOrWhiteSpace(environmentValue) ? new(Path.GetFullPath(environmentValue), LibTorchDirVariable)
        : null;

    /// <summary>Builds the plan from inspected candidates and the driver's answer.</summary>
    /// <param name="explicitCandidate">The explicit folder's inspection, when one was given (then discovery is not used).</param>
    /// <param name="discovery">What discovery found (ignored with an explicit folder).</param>
    /// <param name="inspect">Inspects a discovered candidate.</param>
    /// <param name="driver">The driver's status.</param>
    public static CudaPlan Plan(LibTorchInspection? explicitCandidate, PyTorchDiscoveryResult? discovery,
                                Func<LibTorchCandidate, LibTorchInspection> inspect, CudaDriverStatus driver)
    {
        var tried = new List<string>();
        LibTorchInspection? chosen = null;
        if (explicitCandidate is not null)
        {
            tried.Add(explicitCandidate.Describe());
            if (explicitCandidate.Usable) chosen = explicitCandidate;
        }
        else
        {
            tried.Add($"{LibTorchDirVariable}: not set");
            if (discovery is not null)
            {
                tried.AddRange(discovery.Tried);
                foreach (var candidate in discovery.Candidates)
                {
                    var inspection = inspect(candidate);
                    tried.Add(inspection.Describe());
                    chosen ??= inspection.Usable ? inspection : null;
                }
                if (discovery.Candidates.Count == 0) tried.Add("no installed PyTorch found");
            }
        }
        tried.Add("NVIDIA driver: " + (driver.Problem ?? $"CUDA {driver.DriverVersionText}, {driver.Devices.Count} device(s): "
            + string.Join(", ", driver.Devices.Select(d => $"cuda:{d.Ordinal} {d.Name}"))));
        return new CudaPlan(chosen, driver, tried);
    }

    /// <summary>The one message of a CUDA request that cannot be met: why, every location tried, and what to do.</summary>
    public static string FailureMessage(DeviceRequest request, string reason, IEnumerable<string> tried) =>
        $"CUDA could not be brought up for --device {request}: {reason}. Locations tried:" + Environment.NewLine
        + string.Join(Environment.NewLine, tried.Select(t => "  - " + t)) + Environment.NewLine
        + "Install a CUDA build of PyTorch ≥ 2.10 (its torch/lib is found automatically) or set "
        + $"{LibTorchDirVariable} to a folder with libtorch_cuda.so; --device cpu runs on the CPU.";
}
