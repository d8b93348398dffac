using System.CommandLine;
using System.Text.Json;
using Omni.Algebra.Devices;
using Omni.Cli.Cli;
using Omni.Cli.Doctor;
using Omni.Effects.Devices;
using TorchSharp;

namespace Omni.Cli.Commands;

/// <summary>
/// <c>omni doctor</c>: a new machine's first command. Prints the backend, the libtorch behind it, the devices and bfloat16
/// support, then checks the chosen device against a vendored subset of the golden reference with that device's tolerances.
/// Exit 0 only when every check passes.
/// </summary>
public static class DoctorCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var device = CommonOptions.Device();
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to this file." };
        var fixtures = new Option<string?>("--fixtures") { Description = "The reference subset to check against (default: doctor/ next to omni)." };
        var command = new Command("doctor", "Show the device, libtorch and bf16 support, and check the device against the reference (exit 0 when all checks pass).")
        {
            device, json, fixtures,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            await Task.Yield();
            var backend = CliDevice.Select(result.GetValue(device));
            var data = DoctorFixtures.Open(result.GetValue(fixtures));
            Describe(backend);
            // Parity is judged without TF32, whatever the run's settings.
            if (backend.Kind == BackendKind.Cuda) torch.backends.cuda.matmul.allow_tf32 = false;
            var tolerances = ParityTolerances.For(backend.Device.type);
            Console.WriteLine($"parity on {backend.DeviceName} against {data.Folder} (element-wise {tolerances.Elementwise:G}, reductions {tolerances.Reduced:G}, " +
                              $"model outputs {tolerances.ModelAbsolute:G} absolute{(backend.Kind == BackendKind.Cuda ? "; TF32 off" : "")}):");
            var checks = ParityBattery.Run(data, backend.Device);
            foreach (var c in checks)
                Console.WriteLine($"  {(c.Passed ? "ok    " : "FAILED")} {c.Group,-10} {c.Name,-34} {c.Detail}");
            var passed = checks.Count(c => c.Passed);
            var worst = checks.Where(c => c.Passed).DefaultIfEmpty().MaxBy(c => c?.WorstShare ?? 0);
            Console.WriteLine($"{passed} of {checks.Count} checks passed" + (worst is null ? "" : $"; the closest call used {worst.WorstShare:P1} of its tolerance ({worst.Group} {worst.Name})"));
            if (result.GetValue(json) is { } path) WriteJson(path, backend, tolerances, checks);
            return passed == checks.Count ? ExitCodes.Ok : ExitCodes.Failure;
        }));
        return command;
    }

    private static void Describe(BackendInfo backend)
    {
        Console.WriteLine($"backend:  {(backend.Kind == BackendKind.Cuda ? "CUDA" : "CPU")}");
        Console.WriteLine($"libtorch: {backend.LibTorchVersion} at {backend.LibTorchFolder} (TorchSharp {typeof(torch).Assembly.GetName().Version})");
        if (backend.CudaDriverVersion is { } driver) Console.WriteLine($"driver:   CUDA {driver}");
        foreach (var d in backend.Devices) Console.WriteLine($"device:   {d.Name}, {d.Memory}, bf16 {d.Bf16}");
        Console.WriteLine($"bf16:     {(backend.Bf16Supported ? "supported" : "not supported")} on {backend.DeviceName}");
        if (backend.CudaNotes.Count > 0)
        {
            Console.WriteLine("CUDA:     not used; locations tried:");
            foreach (var note in backend.CudaNotes) Console.WriteLine($"            - {note}");
        }
    }

    private static void WriteJson(string path, BackendInfo backend, ParityTolerances tolerances, IReadOnlyList<DoctorCheck> checks)
    {
        var report = new
        {
            backend = backend.Kind.ToString().ToLowerInvariant(), device = backend.DeviceName, libtorch = backend.LibTorchVersion,
            libtorch_folder = backend.LibTorchFolder, cuda_driver = backend.CudaDriverVersion,
            devices = backend.Devices.Select(d => new { d.Name, memory_bytes = d.MemoryBytes, bf16 = d.Bf16 }),
            bf16_supported = backend.Bf16Supported, cuda_not_used = backend.CudaNotes,
            tolerances = new { elementwise = tolerances.Elementwise, reduced = tolerances.Reduced, model_absolute = tolerances.ModelAbsolute },
            passed = checks.All(c => c.Passed),
            checks = checks.Select(c => new { c.Group, c.Name, c.Passed, worst_share = double.IsFinite(c.WorstShare) ? c.WorstShare : (double?)null, c.Detail }),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
    }
}
