using System.Runtime.InteropServices;

namespace Omni.Effects.Distributed;

/// <summary>
/// Which process on which host each rank is, exchanged once when a job starts, so a rank waiting on a collective can tell a
/// dead peer on its own host from a slow one and say which rank died.
/// </summary>
/// <param name="Hosts">Host name of each rank.</param>
/// <param name="ProcessIds">Process id of each rank.</param>
/// <param name="Self">This process's rank.</param>
public sealed record PeerProcesses(IReadOnlyList<string> Hosts, IReadOnlyList<long> ProcessIds, int Self)
{
    private const int NoSuchProcess = 3; // ESRCH

    /// <summary>One line per rank: <c>rank 1: pid 4242 on node-a</c>.</summary>
    public string Describe(int rank) => $"rank {rank} (pid {ProcessIds[rank]} on {Hosts[rank]})";

    /// <summary>The ranks on this host whose process no longer exists (ranks on other hosts cannot be checked from here).</summary>
    public IReadOnlyList<int> DeadLocalPeers() =>
        Enumerable.Range(0, ProcessIds.Count)
            .Where(r => r != Self && Hosts[r] == Hosts[Self] && !IsAlive(ProcessIds[r]))
            .ToList();

    private static bool IsAlive(long pid)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return true;
        try
        {
            return kill((int)pid, 0) == 0 || Marshal.GetLastPInvokeError() != NoSuchProcess;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
