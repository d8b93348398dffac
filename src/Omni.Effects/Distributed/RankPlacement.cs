using System.Runtime.InteropServices;
using TorchSharp;

namespace Omni.Effects.Distributed;

/// <summary>
/// Per-rank process settings that must be made before the first torch call: which GPU a rank sees and how many CPU threads
/// it computes with.
/// </summary>
public static class RankPlacement
{
    /// <summary>
    /// One GPU per local rank: sets <c>CUDA_VISIBLE_DEVICES</c> to the local rank, or, when the launcher or user already
    /// listed several devices, to the local rank's entry of that list (a single listed device is left alone). A no-op for
    /// one process. Call before CUDA is brought up (TorchSharp has no <c>set_device</c>). The variable is set in the native
    /// environment too: on Unix, .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only its own
    /// copy, which the CUDA runtime (reading <c>getenv</c>) never sees.
    /// </summary>
    public static void AssignGpu(RankEnvironment layout)
    {
        if (!layout.IsDistributed) return;
        var listed = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        if (string.IsNullOrWhiteSpace(listed))
        {
            SetProcessVariable("CUDA_VISIBLE_DEVICES", layout.LocalRank.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        var devices = listed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (devices.Length > 1) SetProcessVariable("CUDA_VISIBLE_DEVICES", devices[layout.LocalRank % devices.Length]);
    }

    // Both copies of the environment: .NET's (for Environment.GetEnvironmentVariable and child processes) and the C
    // library's (for native code in this process).
    private static void SetProcessVariable(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (!OperatingSystem.IsWindows() && setenv(name, value, 1) != 0)
            throw new InvalidOperationException($"setenv({name}) failed with errno {Marshal.GetLastPInvokeError()}.");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);

    /// <summary>
    /// The CPU threads of one rank: the host's cores split evenly between the ranks on it (at least one), unless
    /// <c>OMNI_THREADS</c> says otherwise. Returns the count it set.
    /// </summary>
    public static int SplitCpuThreads(RankEnvironment layout)
    {
        var chosen = Environment.GetEnvironmentVariable("OMNI_THREADS");
        var threads = int.TryParse(chosen, out var n) && n > 0 ? n : Math.Max(1, Environment.ProcessorCount / Math.Max(1, layout.LocalWorldSize));
        torch.set_num_threads(threads);
        return threads;
    }
}
