using System.Diagnostics;
using System.Text.Json;

namespace Omni.Tests.Behaviour.Cli;

/// <summary>The SD3.5 benchmark keeps compiling and running in CI: its small CPU size, once, with a JSON report.</summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task The_sd35_benchmark_runs_at_its_small_size_and_reports_every_line()
    {
        var json = Path.Combine(Directory.CreateTempSubdirectory("omni-bench-").FullName, "bench.json");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Omni.Bench.dll"), "sd35", "--device", "cpu", "--size", "small", "--repeat", "1", "--json", json })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(4)), "the small benchmark did not finish in 4 minutes");
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await output}{await error}");
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var lines = report.RootElement.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("What").GetString()!).ToList();
        foreach (var expected in new[] { "matmul bf16", "forward", "rollout 10 steps, CFG", "train full fine-tuning", "train LoRA rank 32", "SDE step" })
            Assert.Contains(lines, l => l.StartsWith(expected, StringComparison.Ordinal));
        Assert.All(report.RootElement.GetProperty("lines").EnumerateArray().Where(l => l.GetProperty("Mfu").ValueKind == JsonValueKind.Number),
                   l => Assert.True(l.GetProperty("Mfu").GetDouble() > 0));
        Assert.Equal("small", report.RootElement.GetProperty("size").GetString());
    }
}
