namespace Omni.Effects.Devices;

/// <summary>Facts about the host CPU for reports: its model, memory and bfloat16 support.</summary>
public static class HostFacts
{
    /// <summary>The CPU as a compute device.</summary>
    public static ComputeDeviceInfo Cpu()
    {
        var info = Read("/proc/cpuinfo");
        var model = info.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                    ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        var flags = info.Split('\n').FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        var bf16 = flags.Contains(" avx512_bf16", StringComparison.Ordinal) || flags.Contains(" amx_bf16", StringComparison.Ordinal)
            ? "native (AVX512-BF16/AMX)" : "emulated (correct, slower than float32 on this CPU)";
        var name = $"{model}, {Environment.ProcessorCount} logical cores, {TorchSharp.torch.get_num_threads()} torch threads";
        return new ComputeDeviceInfo(name, MemoryBytes(), bf16);
    }

    private static long MemoryBytes()
    {
        var line = Read("/proc/meminfo").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kib = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1);
        return long.TryParse(kib, out var k) ? k * 1024 : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    private static string Read(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path) : ""; }
        catch (IOException) { return ""; }
    }
}
