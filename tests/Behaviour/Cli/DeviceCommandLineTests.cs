using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.ShapesModel;

namespace Omni.Tests.Behaviour.Cli;

/// <summary>
/// <c>--device</c> and <c>omni doctor</c> from the real executable: the CPU path changes nothing, an explicit CUDA request
/// that cannot be met here is exit 2 with every location tried, and the doctor passes on the CPU.
/// </summary>
public sealed class DeviceCommandLineTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("omni-device-cli-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    // Keeps the test meaningful on a machine that has CUDA: the driver cannot be found through an empty search path.
    private static readonly Dictionary<string, string?> NoCuda = new() { ["OMNI_LIBTORCH_DIR"] = null };

    [Fact]
    public void Train_on_cuda_without_cuda_is_exit_2_with_every_location_tried()
    {
        if (Omni.Effects.Devices.CudaDriver.Probe().Problem is null) return; // a GPU machine: CUDA may well come up
        var (code, output, error) = OmniProcess.Run(_work, NoCuda, "train", "--device", "cuda", "--steps", "1");
        Assert.True(code == 2, $"exit {code}: {output}{error}");
        Assert.Contains("CUDA could not be brought up for --device cuda", error);
        Assert.Contains("Locations tried", error);
        Assert.Contains("OMNI_LIBTORCH_DIR: not set", error);
        Assert.Contains("NVIDIA driver", error);
        Assert.Contains("--device cpu", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("held-out reward", output);   // never a silent CPU run
    }

    [Fact]
    public void An_explicit_libtorch_folder_that_is_cpu_only_is_named_in_the_message()
    {
        var lib = Path.Combine(_work, "torch", "lib");
        Directory.CreateDirectory(lib);
        File.WriteAllText(Path.Combine(_work, "torch", "version.py"), "__version__ = '1.13.0'\n");
        foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" }) File.WriteAllBytes(Path.Combine(lib, name), []);
        var (code, _, error) = OmniProcess.Run(_work, new Dictionary<string, string?> { ["OMNI_LIBTORCH_DIR"] = lib }, "doctor", "--device", "cuda:1");
        Assert.Equal(2, code);
        Assert.Contains(lib, error);
        Assert.Contains("OMNI_LIBTORCH_DIR", error);
        Assert.Contains("PyTorch 1.13.0: CPU-only build", error);
    }

    [Fact]
    public void A_bad_device_string_is_exit_2()
    {
        var (code, _, error) = OmniProcess.Run(_work, "sample", "--device", "gpu0");
        Assert.Equal(2, code);
        Assert.Contains("Unknown device 'gpu0'", error);
    }

    [Fact]
    public void Doctor_passes_on_the_cpu_and_writes_its_report()
    {
        var json = Path.Combine(_work, "doctor.json");
        var (code, output, error) = OmniProcess.Run(_work, "doctor", "--device", "cpu", "--json", json);
        Assert.True(code == 0, $"exit {code}: {output}{error}");
        Assert.StartsWith("omni: device cpu — libtorch ", output);
        Assert.Matches(@"(\d+) of \1 checks passed", output);
        foreach (var part in new[] { "bf16", "schedules", "sde", "model", "dance_sde", "per_sample_t" }) Assert.Contains(part, output);
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.True(report.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal("cpu", report.RootElement.GetProperty("device").GetString());
    }

    [Fact]
    public void Train_with_device_cpu_is_bit_identical_to_train_without_the_option()
    {
        var model = Path.Combine(_work, "tiny-model");
        using (var pipeline = TinyShapes.Create(seed: 3)) ShapesPipelineFolder.Save(pipeline, model);
        string[] Args(string run) => ["train", "--model", model, "--run", Path.Combine(_work, run), "--steps", "2",
            "--set", "training:PromptsPerStep=2", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=4"];
        // Each run evaluates 128 held-out samples before and after: allow for a contended machine.
        var plain = OmniProcess.Run(_work, null, TimeSpan.FromMinutes(8), Args("plain"));
        var cpu = OmniProcess.Run(_work, null, TimeSpan.FromMinutes(8), [.. Args("cpu"), "--device", "cpu"]);
        Assert.True(plain.Code == 0 && cpu.Code == 0, $"exit {plain.Code}/{cpu.Code}: {plain.Error}{cpu.Error}");
        Assert.StartsWith("omni: device cpu", plain.Output);
        foreach (var file in new[] { "final-model/transformer/diffusion_pytorch_model.safetensors", "summary.json" })
            Assert.True(File.ReadAllBytes(Path.Combine(_work, "plain", file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(_work, "cpu", file))),
                        $"{file} differs between `omni train` and `omni train --device cpu`");
    }
}
