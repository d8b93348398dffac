using System.Diagnostics;
using Omni.Algebra.Errors;
using Omni.Cli.Cli;
using Omni.Effects.Distributed;

namespace Omni.Cli.Distributed;

/// <summary>
/// <c>omni train --nproc N …</c>: starts N ranks of the same command on this machine through MPICH's <c>mpiexec</c>, passes
/// their output through, and when the job fails says which rank failed first and where the last checkpoint is. Checks that
/// can fail without starting anything (no mpiexec, a world size that does not divide the step) are made before.
/// </summary>
public static class RankLauncher
{
    /// <summary>MPICH's launcher: <c>OMNI_MPIEXEC</c>, else <c>mpiexec.mpich</c>, <c>mpiexec</c> or <c>mpirun</c> on the PATH, if it is Hydra.</summary>
    /// <exception cref="OmniException">No MPICH launcher (exit code 2, with the install command).</exception>
    public static string FindMpiexec()
    {
        var chosen = Environment.GetEnvironmentVariable("OMNI_MPIEXEC");
        var candidates = !string.IsNullOrWhiteSpace(chosen) ? [chosen]
            : new[] { "mpiexec.mpich", "mpiexec", "mpirun" }.SelectMany(name =>
                (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(dir => Path.Combine(dir, name)));
        foreach (var path in candidates.Where(File.Exists))
        {
            if (IsHydra(path)) return path;
            if (!string.IsNullOrWhiteSpace(chosen))
                throw new OmniException([OmniError.Invalid($"OMNI_MPIEXEC='{chosen}' is not MPICH's mpiexec (Hydra); Omni's ranks speak MPICH's ABI.")]);
        }
        throw new OmniException([OmniError.Invalid(
            "--nproc needs MPICH's mpiexec, which was not found on the PATH. Install MPICH (Debian/Ubuntu: apt-get install -y mpich libmpich-dev) " +
            "or point OMNI_MPIEXEC at it. (Open MPI's mpirun cannot start Omni's ranks.)")]);
    }

    private static bool IsHydra(string path)
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo(path, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var text = probe.StandardOutput.ReadToEnd() + probe.StandardError.ReadToEnd();
            probe.WaitForExit(5000);
            return text.Contains("HYDRA", StringComparison.OrdinalIgnoreCase);
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// <summary>
    /// Runs <paramref name="arguments"/> (an <c>omni</c> command line without <c>--nproc</c>) as <paramref name="ranks"/> ranks and
    /// returns the job's exit code. Ctrl-C reaches the ranks, which stop together after their current step and checkpoint.
    /// </summary>
    /// <param name="ranks">Ranks to start.</param>
    /// <param name="arguments">The command for every rank.</param>
    /// <param name="runDirectory">The run folder (for the resume hint after a failure).</param>
    public static async Task<int> Run(int ranks, IReadOnlyList<string> arguments, string runDirectory)
    {
        var mpiexec = FindMpiexec();
        var folder = Directory.CreateTempSubdirectory("omni-launch-").FullName;
        var start = new ProcessStartInfo(mpiexec) { UseShellExecute = false };
        foreach (var a in new[] { "-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(SelfCommand()).Concat(arguments))
            start.ArgumentList.Add(a);
        start.Environment[RankSession.LaunchFolderVariable] = folder;
        // The ranks, not this launcher, decide what Ctrl-C means (stop after the step); a second press stops everything.
        var presses = 0;
        Process? job = null;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            if (++presses >= 2) job?.Kill(entireProcessTree: true);
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var watch = new RankWatch(folder);
            job = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {mpiexec}.");
            await job.WaitForExitAsync().ConfigureAwait(false);
            var code = job.ExitCode;
            if (code is not (ExitCodes.Ok or ExitCodes.BadInput or ExitCodes.Interrupted)) Explain(code, folder, watch.FirstExit, runDirectory);
            return code;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            job?.Dispose();
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }

    // Ranks that failed with an error printed it and left a note; a rank that vanished without one is named here.
    private static void Explain(int code, string folder, (int Rank, long Pid)? first, string runDirectory)
    {
        var reported = Directory.GetFiles(folder, "rank-*.failed").Select(f => Path.GetFileNameWithoutExtension(f)["rank-".Length..]).ToList();
        if (reported.Count > 0)
            Console.Error.WriteLine($"omni: the job stopped because rank {string.Join(", ", reported)} failed (see above); mpiexec exited with {code}.");
        else if (first is { } f)
            Console.Error.WriteLine($"omni: rank {f.Rank} (pid {f.Pid}) ended first without reporting an error — it was killed or crashed (mpiexec exited with {code}, {Describe(code)}); mpiexec then stopped the other ranks.");
        else
            Console.Error.WriteLine($"omni: the job failed (mpiexec exited with {code}, {Describe(code)}) before every rank had started.");
        var last = Training.Checkpoints.TrainingCheckpoint.Latest(runDirectory);
        Console.Error.WriteLine(last is null
            ? "omni: no checkpoint had been written yet; running the same command starts over."
            : $"omni: the last complete checkpoint is {last}; run the same command to resume from it.");
    }

    private static string Describe(int code) => code switch
    {
        9 => "a rank was killed with SIGKILL, e.g. by the out-of-memory killer or kill -9",
        15 => "a rank was terminated with SIGTERM",
        11 => "a rank crashed with a segmentation fault",
        6 => "a rank aborted",
        _ => "see the output above",
    };

    // How to start this same program again: `dotnet omni.dll` when run through the dotnet host, else the apphost itself.
    private static IEnumerable<string> SelfCommand()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var entry = typeof(RankLauncher).Assembly.Location;
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, entry] : [host];
    }

    /// <summary>Whether this process is already a rank of a job (then <c>--nproc</c> would start ranks inside ranks).</summary>
    public static bool InsideJob() => RankEnvironment.Current().Match(l => l.IsDistributed, _ => true);
}
