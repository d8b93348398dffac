using Omni.Algebra.Devices;
using Omni.Effects.Devices;

namespace Omni.Tests.Behaviour.Devices;

/// <summary>
/// CUDA discovery as far as a machine without a GPU can take it: candidate folders are judged from their files before
/// anything is loaded, a CPU-only or old PyTorch (Debian's python3-torch 1.13) is skipped with its reason, and a request
/// that cannot be met produces one message listing every location tried.
/// </summary>
public sealed class CudaDiscoveryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("omni-cuda-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    // A PyTorch-style install: <prefix>/lib/python3.11/site-packages/torch/{version.py, lib/*.so}.
    private string Install(string prefix, string version, bool cuda, string kind = "site-packages")
    {
        var torch = Path.Combine(_root, prefix, "lib", "python3.11", kind, "torch");
        var lib = Path.Combine(torch, "lib");
        Directory.CreateDirectory(lib);
        File.WriteAllText(Path.Combine(torch, "version.py"), $"__version__ = '{version}'\ncuda = {(cuda ? "'13.0'" : "None")}\n");
        foreach (var name in LibTorchFolder.PreloadOrder.Where(n => cuda || !n.Contains("cuda")))
            File.WriteAllBytes(Path.Combine(lib, name), []);
        return lib;
    }

    private static LibTorchInspection Inspect(string folder) => LibTorchFolder.Inspect(new LibTorchCandidate(folder, "test"));

    [Fact]
    public void A_cuda_build_of_a_recent_pytorch_is_usable()
    {
        var inspection = Inspect(Install("good", "2.11.0+cu130", cuda: true));
        Assert.True(inspection.Usable, inspection.Describe());
        Assert.Equal("2.11.0+cu130", inspection.Version);
    }

    [Fact]
    public void Debians_cpu_only_pytorch_1_13_is_skipped_with_its_reason()
    {
        var inspection = Inspect(Install("debian", "1.13.0", cuda: false, kind: "dist-packages"));
        Assert.False(inspection.Usable);
        Assert.Contains("1.13.0", inspection.Problem);
        Assert.Contains("CPU-only", inspection.Problem);
    }

    [Theory]
    [InlineData("2.9.1+cu128", true, "older than 2.10")]
    [InlineData("2.11.0", false, "CPU-only")]
    public void Old_or_cpu_only_installs_are_refused(string version, bool cuda, string reason) =>
        Assert.Contains(reason, Inspect(Install("v" + version, version, cuda)).Problem);

    [Fact]
    public void A_missing_or_empty_folder_says_so()
    {
        Assert.Equal("folder does not exist", Inspect(Path.Combine(_root, "nowhere")).Problem);
        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        Assert.Contains("not a libtorch folder", Inspect(Path.Combine(_root, "empty")).Problem);
    }

    [Fact]
    public void A_libtorch_archive_declares_its_version_in_build_version()
    {
        var lib = Path.Combine(_root, "libtorch", "lib");
        Directory.CreateDirectory(lib);
        File.WriteAllText(Path.Combine(_root, "libtorch", "build-version"), "2.10.0+cu128\n");
        foreach (var name in LibTorchFolder.PreloadOrder) File.WriteAllBytes(Path.Combine(lib, name), []);
        Assert.Equal("2.10.0+cu128", Inspect(lib).Version);
        Assert.True(Inspect(lib).Usable);
    }

    [Fact]
    public void Discovery_asks_interpreters_then_searches_site_packages()
    {
        if (!OperatingSystem.IsLinux()) return; // the fake interpreter is a shell script
        var fromInterpreter = Install("venv", "2.11.0+cu130", cuda: true);
        var script = Path.Combine(_root, "fake-python");
        File.WriteAllText(script, $"#!/bin/sh\necho '{fromInterpreter}'\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        var debian = Install("usr", "1.13.0", cuda: false, kind: "dist-packages");
        var result = PyTorchDiscovery.Run([script, Path.Combine(_root, "no-such-python")], [Path.Combine(_root, "usr"), Path.Combine(_root, "nothing-here")]);
        Assert.Equal([fromInterpreter, debian], result.Candidates.Select(c => c.Folder));
        Assert.Contains(result.Tried, t => t.Contains("no-such-python") && t.Contains("not found"));
    }

    [Fact]
    public void An_explicit_folder_is_the_only_place_looked_at_and_wins_over_the_environment()
    {
        var settings = new DeviceSettings { Device = DeviceRequest.Cuda(), LibTorchDirectory = Path.Combine(_root, "mine") };
        Assert.Equal(Path.Combine(_root, "mine"), CudaSelection.Explicit(settings, "/elsewhere")!.Folder);
        Assert.Equal("/elsewhere", CudaSelection.Explicit(DeviceSettings.For(DeviceRequest.Cuda()), "/elsewhere")!.Folder);
        Assert.Null(CudaSelection.Explicit(DeviceSettings.For(DeviceRequest.Cuda()), null));
    }

    [Fact]
    public void Without_a_driver_the_message_lists_every_location_tried_and_what_to_do()
    {
        var debian = Install("usr", "1.13.0", cuda: false, kind: "dist-packages");
        var good = Install("good", "2.11.0+cu130", cuda: true);
        var driver = CudaDriver.Probe(Path.Combine(_root, "libcuda-absent.so.1"));
        Assert.Contains("no NVIDIA driver", driver.Problem);
        var discovery = new PyTorchDiscoveryResult([new(debian, "Debian"), new(good, "pip")], ["python3: no PyTorch installed for it"]);
        var plan = CudaSelection.Plan(null, discovery, LibTorchFolder.Inspect, driver);
        Assert.Equal(good, plan.Chosen?.Candidate.Folder);
        var obstacle = plan.Obstacle(DeviceRequest.Cuda());
        Assert.Contains("no NVIDIA driver", obstacle);
        var message = CudaSelection.FailureMessage(DeviceRequest.Cuda(), obstacle!, plan.Tried);
        foreach (var expected in new[] { "OMNI_LIBTORCH_DIR: not set", "python3: no PyTorch", debian, "CPU-only", good, "NVIDIA driver", "--device cpu" })
            Assert.Contains(expected, message);
    }

    [Fact]
    public void A_device_index_beyond_the_visible_devices_is_refused()
    {
        var good = Install("good", "2.11.0+cu130", cuda: true);
        var driver = new CudaDriverStatus(13000, [new CudaDeviceInfo(0, "Test GPU", 1L << 34, (9, 0))], null);
        var plan = CudaSelection.Plan(Inspect(good), null, LibTorchFolder.Inspect, driver);
        Assert.Null(plan.Obstacle(DeviceRequest.Cuda(0)));
        Assert.Contains("1 CUDA device", plan.Obstacle(DeviceRequest.Cuda(2)));
    }
}
