using System.Runtime.InteropServices;
using LanguageExt;
using Omni.Algebra.Devices;
using Omni.Algebra.Errors;
using TorchSharp;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Effects.Devices;

/// <summary>
/// Chooses the libtorch build of this process, once, before any other torch call (the first line of every executable's
/// <c>Main</c> and of every test host's module initializer). CPU: the bundled libtorch-cpu, as always. CUDA: an explicit
/// folder (<see cref="DeviceSettings.LibTorchDirectory"/>, else <c>OMNI_LIBTORCH_DIR</c>) or an installed PyTorch's
/// <c>torch/lib</c>, validated from its files, then preloaded in the order <see cref="LibTorchFolder.PreloadOrder"/> so
/// that TorchSharp's native bridge binds to it. Once torch has loaded its CPU libraries, CUDA can no longer come up in the
/// process, so a second call can only confirm the first choice.
/// </summary>
public static class TorchBackend
{
    private static readonly object Gate = new();
    private static BackendInfo? _current;

    /// <summary>The backend chosen in this process, or null before <see cref="Initialize"/>.</summary>
    public static BackendInfo? Current { get { lock (Gate) return _current; } }

    /// <summary>The device chosen in this process (the CPU before <see cref="Initialize"/>).</summary>
    public static Device Device => Current?.Device ?? CPU;

    /// <summary>Chooses the backend for <paramref name="settings"/>, or returns every reason it cannot.</summary>
    public static Either<OmniError, BackendInfo> TryInitialize(DeviceSettings settings)
    {
        lock (Gate)
        {
            if (_current is { } existing) return Confirm(existing, settings.Device);
            var result = Select(settings);
            result.IfRight(info => _current = info);
            return result;
        }
    }

    /// <summary>Chooses the backend for <paramref name="settings"/>.</summary>
    /// <exception cref="OmniException">An explicit CUDA request that cannot be met (the message lists every location tried),
    /// or a request that contradicts the backend this process already runs on.</exception>
    public static BackendInfo Initialize(DeviceSettings settings) => TryInitialize(settings).OrThrow();

    // A later request in the same process: the same kind (or auto) is fine, a different kind cannot be had any more.
    private static Either<OmniError, BackendInfo> Confirm(BackendInfo existing, DeviceRequest request)
    {
        if (request.Kind == DeviceKind.Cuda && existing.Kind == BackendKind.Cpu)
            return Left<OmniError, BackendInfo>(new OmniError(ErrorKind.NotSupported,
                $"--device {request} was requested, but this process already runs on the CPU backend ({existing.LibTorchFolder}); " +
                "CUDA can only be chosen before the first torch call. Start a new process with the device set from the start."));
        if (request.Kind == DeviceKind.Cpu && existing.Kind == BackendKind.Cuda)
            return existing with { Device = CPU };
        if (existing.Kind == BackendKind.Cuda && request.Kind == DeviceKind.Cuda && request.CudaOrdinal != existing.Device.index)
        {
            if (request.CudaOrdinal >= existing.Devices.Count)
                return Left<OmniError, BackendInfo>(OmniError.Invalid($"{request} was requested but {existing.Devices.Count} CUDA device(s) are visible."));
            return existing with { Device = new Device(DeviceType.CUDA, request.CudaOrdinal) };
        }
        return existing;
    }

    private static Either<OmniError, BackendInfo> Select(DeviceSettings settings)
    {
        var request = settings.Device;
        // Something already initialised torch (the ordering trap): only the CPU can be had now.
        var preloaded = LoadedLibraries.PathOf("libtorch_cpu.so") is not null && LoadedLibraries.PathOf("libtorch_cuda.so") is null;
        if (!request.WantsCuda || (preloaded && request.Kind == DeviceKind.Auto)) return Cpu([]);
        if (preloaded)
            return Left<OmniError, BackendInfo>(new OmniError(ErrorKind.NotSupported,
                $"--device {request}: torch was already initialised on the CPU in this process before the device was chosen; " +
                "TorchBackend.Initialize must run before any other torch call."));

        var explicitCandidate = CudaSelection.Explicit(settings, Environment.GetEnvironmentVariable(CudaSelection.LibTorchDirVariable));
        var plan = CudaSelection.Plan(
            explicitCandidate is null ? null : LibTorchFolder.Inspect(explicitCandidate),
            explicitCandidate is null ? WithBundled(PyTorchDiscovery.Run()) : null,
            LibTorchFolder.Inspect, CudaDriver.Probe());
        var tried = plan.Tried.ToList();
        if (plan.Obstacle(request) is { } obstacle)
            return request.Kind == DeviceKind.Auto ? Cpu(tried) : Failure(request, obstacle, tried);

        var folder = plan.Chosen!.Candidate.Folder;
        foreach (var library in LibTorchFolder.PreloadOrder)
        {
            try
            {
                NativeLibrary.Load(Path.Combine(folder, library));
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                tried.Add($"{folder}: loading {library} failed: {e.Message}");
                // Libraries loaded so far stay in the process; the CPU fallback of auto then runs on that install's CPU part.
                return request.Kind == DeviceKind.Auto ? Cpu(tried) : Failure(request, $"loading {library} failed", tried);
            }
        }
        try
        {
            InitializeDeviceType(DeviceType.CUDA);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or DllNotFoundException or TypeInitializationException)
        {
            tried.Add($"{folder}: loaded, but CUDA did not initialise (torch::cuda::is_available() is false: {FirstLine(e.Message)})");
            return request.Kind == DeviceKind.Auto ? Cpu(tried) : Failure(request, "CUDA did not initialise", tried);
        }
        var visible = (int)cuda.device_count();
        if (request.CudaOrdinal >= visible)
            return Failure(request, $"torch sees {visible} CUDA device(s)", tried);
        backends.cuda.matmul.allow_tf32 = settings.AllowTf32;
        var devices = plan.Driver.Devices.Select(d => new ComputeDeviceInfo(
            $"{d.Name} (compute {d.ComputeCapability.Major}.{d.ComputeCapability.Minor})", d.TotalMemoryBytes,
            d.SupportsBf16 ? "native" : "emulated (compute capability below 8.0)")).ToList();
        return new BackendInfo(BackendKind.Cuda, new Device(DeviceType.CUDA, request.CudaOrdinal),
            Path.GetDirectoryName(LoadedLibraries.PathOf("libtorch_cuda.so") ?? Path.Combine(folder, "libtorch_cuda.so"))!,
            plan.Chosen.Version ?? "(version unknown)", plan.Driver.DriverVersionText, devices,
            plan.Driver.Devices[request.CudaOrdinal].SupportsBf16, []);
    }

    // An application built with -p:OmniTorchBackend=cuda carries TorchSharp's CUDA libtorch next to itself: tried first.
    private static PyTorchDiscoveryResult WithBundled(PyTorchDiscoveryResult discovered)
    {
        var bundled = new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
            .Where(folder => File.Exists(Path.Combine(folder, "libtorch_cuda.so")))
            .Select(folder => new LibTorchCandidate(Path.GetFullPath(folder), "bundled with the application (TorchSharp-cuda-linux)"));
        return discovered with { Candidates = [.. bundled, .. discovered.Candidates] };
    }

    private static Either<OmniError, BackendInfo> Failure(DeviceRequest request, string reason, IEnumerable<string> tried) =>
        Left<OmniError, BackendInfo>(new OmniError(ErrorKind.NotSupported, CudaSelection.FailureMessage(request, reason, tried)));

    private static Either<OmniError, BackendInfo> Cpu(IReadOnlyList<string> cudaNotes)
    {
        InitializeDeviceType(DeviceType.CPU);
        var library = LoadedLibraries.PathOf("libtorch_cpu.so");
        var folder = library is null ? AppContext.BaseDirectory : Path.GetDirectoryName(library)!;
        // TorchSharp reports the bundled package's version with four parts (2.10.0.0).
        var version = LibTorchFolder.ReadVersion(folder) ?? (__version__.EndsWith(".0", StringComparison.Ordinal) && __version__.Count(c => c == '.') == 3 ? __version__[..^2] : __version__);
        var cpu = HostFacts.Cpu();
        return new BackendInfo(BackendKind.Cpu, CPU, folder, version, null, [cpu], true, cudaNotes);
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
