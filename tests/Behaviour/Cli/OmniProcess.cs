using System.Diagnostics;
using System.Text;

namespace Omni.Tests.Behaviour.Cli;

/// <summary>Runs the real <c>omni</c> executable (built next to the tests) as a child process.</summary>
public sealed class OmniProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();

    public OmniProcess(string workingDirectory, params string[] args) : this(workingDirectory, null, args) { }

    public OmniProcess(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
        : this(workingDirectory, environment, restoreInterrupt: false, args) { }

    private OmniProcess(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, bool restoreInterrupt, string[] args)
    {
        var start = new ProcessStartInfo(restoreInterrupt ? "env" : "dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        if (restoreInterrupt)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add("dotnet");
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "omni.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["OMNI_DEBUG"] = "1";
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output { get { lock (_out) return _out.ToString(); } }

    public string Error { get { lock (_err) return _err.ToString(); } }

    public int Id => _process.Id;

    /// <summary>Waits for exit (killing the process after the timeout) and returns the exit code.</summary>
    public int Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"omni did not finish in {timeout}. stdout:\n{Output}\nstderr:\n{Error}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>
    /// Starts omni so that <see cref="Interrupt"/> reaches it even when these tests run with SIGINT ignored (a test run
    /// started in the background, e.g. <c>nohup … &amp;</c>, passes SIG_IGN on, and .NET then installs no Ctrl-C handler, as
    /// a background program should): GNU env's <c>--default-signal=INT</c> restores the default before omni starts.
    /// </summary>
    public static OmniProcess Interruptible(string workingDirectory, params string[] args) => new(workingDirectory, null, restoreInterrupt: true, args);

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does.</summary>
    public void Interrupt() => Process.Start("kill", ["-INT", _process.Id.ToString()])!.WaitForExit();

    public static (int Code, string Output, string Error) Run(string workingDirectory, params string[] args) =>
        Run(workingDirectory, null, args);

    public static (int Code, string Output, string Error) Run(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        Run(workingDirectory, environment, TimeSpan.FromMinutes(3), args);

    /// <summary>Runs omni to completion, killing it after <paramref name="timeout"/> (a guard against a hang; a shared 2-core machine is slow).</summary>
    public static (int Code, string Output, string Error) Run(string workingDirectory, TimeSpan timeout, params string[] args) =>
        Run(workingDirectory, null, timeout, args);

    /// <summary>Runs to completion; <paramref name="timeout"/> only guards against a hang (a shared 2-core machine is slow).</summary>
    public static (int Code, string Output, string Error) Run(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout, params string[] args)
    {
        using var p = new OmniProcess(workingDirectory, environment, args);
        var code = p.Wait(timeout);
        return (code, p.Output, p.Error);
    }

    public void Dispose() => _process.Dispose();
}
