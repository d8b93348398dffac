using System.Runtime.InteropServices;

namespace Omni.Cli.Distributed;

/// <summary>
/// Watches the ranks of a job started by <c>omni train --nproc</c> and remembers which one ended first. mpiexec kills the
/// other ranks within milliseconds of one dying, so only the order of exits tells who failed: each rank registers its
/// process id in the launch folder, and a Linux pidfd per rank wakes this watcher the moment that process ends.
/// </summary>
internal sealed class RankWatch : IDisposable
{
    private const int PidfdOpen = 434;
    private const short PollIn = 1;
    private readonly string _folder;
    private readonly Thread _thread;
    private volatile bool _stop;
    private (int Rank, long Pid)? _first;

    public RankWatch(string folder)
    {
        _folder = folder;
        _thread = new Thread(Watch) { IsBackground = true, Name = "omni rank watch" };
        if (OperatingSystem.IsLinux()) _thread.Start();
    }

    /// <summary>The rank whose process ended first, if any has.</summary>
    public (int Rank, long Pid)? FirstExit => _first;

    private void Watch()
    {
        var watched = new Dictionary<int, (int Fd, long Pid)>();
        try
        {
            while (!_stop && _first is null)
            {
                foreach (var file in Directory.Exists(_folder) ? Directory.GetFiles(_folder, "rank-*.pid") : [])
                {
                    var rank = int.Parse(Path.GetFileNameWithoutExtension(file)["rank-".Length..]);
                    if (watched.ContainsKey(rank)) continue;
                    var text = File.ReadAllText(file).Split(' ');
                    if (text.Length < 1 || !long.TryParse(text[0], out var pid)) continue;
                    var fd = (int)syscall(PidfdOpen, pid, 0);
                    if (fd < 0) { _first ??= (rank, pid); continue; } // already gone
                    watched[rank] = (fd, pid);
                }
                if (watched.Count == 0) { Thread.Sleep(100); continue; }
                var ranks = watched.Keys.ToArray();
                var fds = ranks.Select(r => new PollFd { Fd = watched[r].Fd, Events = PollIn }).ToArray();
                if (poll(fds, (ulong)fds.Length, 100) <= 0) continue;
                for (var i = 0; i < fds.Length; i++)
                    if ((fds[i].Revents & PollIn) != 0) { _first ??= (ranks[i], watched[ranks[i]].Pid); break; }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException or FormatException)
        {
            // The watch only improves a message; the launch itself never depends on it.
        }
        finally
        {
            foreach (var (fd, _) in watched.Values) close(fd);
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(1));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern long syscall(long number, long pid, long flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int poll([In, Out] PollFd[] fds, ulong count, int timeout);

    [DllImport("libc")]
    private static extern int close(int fd);
}
