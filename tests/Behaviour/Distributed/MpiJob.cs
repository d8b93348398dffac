using System.Diagnostics;
using System.Text;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// Runs a multi-rank job under MPICH's <c>mpiexec</c> as a child process with a hard time limit: on expiry the whole
/// process tree (mpiexec, its proxies, every rank) is killed and the test fails with what the ranks printed.
/// </summary>
internal sealed class MpiJob : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();

    private MpiJob(ProcessStartInfo start)
    {
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>MPICH's launcher, or a failure that says how to install it (the 2-rank tests are part of the suite, not optional).</summary>
    public static string Launcher()
    {
        foreach (var name in new[] { "mpiexec.mpich", "mpiexec" })
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        throw new InvalidOperationException("mpiexec not found: the multi-rank tests need MPICH (apt-get install -y mpich libmpich-dev; .ci/run installs it).");
    }

    /// <summary>Starts <paramref name="ranks"/> copies of the test assembly's rank worker running <paramref name="scenario"/>.</summary>
    public static MpiJob Workers(int ranks, string scenario, string folder, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(ranks, [Path.Combine(AppContext.BaseDirectory, "Omni.Tests.Behaviour.dll"), RankWorker.Verb, scenario, folder], folder, environment);

    /// <summary>Starts <paramref name="ranks"/> copies of the <c>omni</c> executable with <paramref name="arguments"/>.</summary>
    public static MpiJob Omni(int ranks, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        Start(ranks, [Path.Combine(AppContext.BaseDirectory, "omni.dll"), .. arguments], workingDirectory, environment);

    private static MpiJob Start(int ranks, IEnumerable<string> dotnetArguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(Launcher()) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-n", ranks.ToString(), "dotnet" }.Concat(dotnetArguments)) start.ArgumentList.Add(a);
        start.Environment["OMNI_DEBUG"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        return new MpiJob(start);
    }

    public string Output { get { lock (_out) return _out.ToString(); } }

    public string Error { get { lock (_err) return _err.ToString(); } }

    /// <summary>Everything the job printed, for failure messages.</summary>
    public string Transcript => $"stdout:\n{Output}\nstderr:\n{Error}";

    /// <summary>Waits for the job; past <paramref name="limit"/> kills every process of it and throws.</summary>
    public int Wait(TimeSpan limit)
    {
        if (!_process.WaitForExit(limit))
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            throw new TimeoutException($"the MPI job did not finish within {limit} and was killed.\n{Transcript}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
