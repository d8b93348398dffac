using System.Diagnostics;

namespace Omni.Effects.Distributed;

/// <summary>
/// Waits for a started collective without ever waiting forever: polls it (briefly yielding, then sleeping a millisecond
/// at a time so a waiting rank leaves the cores to ranks still computing), and once a second checks that the peers on
/// this host are alive and that the call is within its time limit. A dead peer or an expired limit ends the job with a
/// message that names the ranks involved.
/// </summary>
internal static class CollectiveWait
{
    private static readonly TimeSpan SpinPhase = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    /// <summary>Polls <paramref name="poll"/> until it returns true; aborts through <paramref name="abort"/> on a dead peer or timeout.</summary>
    public static void Until(Func<bool> poll, string description, TimeSpan timeout, PeerProcesses? peers, Action<string> abort)
    {
        var clock = Stopwatch.StartNew();
        var nextCheck = CheckEvery;
        while (!poll())
        {
            var elapsed = clock.Elapsed;
            if (elapsed < SpinPhase) Thread.Yield();
            else Thread.Sleep(1);
            if (elapsed < nextCheck) continue;
            nextCheck = elapsed + CheckEvery;
            if (peers?.DeadLocalPeers() is { Count: > 0 } dead)
                abort($"{string.Join(", ", dead.Select(peers.Describe))} is no longer running (killed or crashed) while this rank waited in {description}; stopping the job.");
            if (elapsed > timeout)
                abort($"{description} did not complete within {timeout.TotalSeconds:0} s: another rank is stuck or gone. " +
                      "Set OMNI_COLLECTIVE_TIMEOUT (seconds) to allow longer waits.");
        }
    }
}
