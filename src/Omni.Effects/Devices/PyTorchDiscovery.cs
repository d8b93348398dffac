using System.Diagnostics;

namespace Omni.Effects.Devices;

/// <summary>What discovery looked at: candidate folders to inspect, and the places that yielded none (for messages).</summary>
/// <param name="Candidates">Folders that may hold a CUDA libtorch, without duplicates, in search order.</param>
/// <param name="Tried">Places that gave no folder, each with the reason (an interpreter without PyTorch, …).</param>
public sealed record PyTorchDiscoveryResult(IReadOnlyList<LibTorchCandidate> Candidates, IReadOnlyList<string> Tried);

/// <summary>
/// Finds installed PyTorch libraries without importing torch: asks each Python interpreter on the <c>PATH</c> where the
/// <c>torch</c> package lives (<c>importlib.util.find_spec</c>, which reads no native code), then looks in the active
/// virtual or conda environment and in the usual system and user site-packages folders.
/// </summary>
public static class PyTorchDiscovery
{
    private const string FindSpec =
        "import importlib.util as u, os; s = u.find_spec('torch'); print(os.path.join(os.path.dirname(s.origin), 'lib') if s and s.origin else '')";

    /// <summary>The interpreters asked by default.</summary>
    public static IReadOnlyList<string> DefaultInterpreters { get; } = ["python3", "python"];

    /// <summary>Discovery with the default interpreters and the search roots of this environment.</summary>
    public static PyTorchDiscoveryResult Run() => Run(DefaultInterpreters, DefaultSearchRoots());

    /// <summary>
    /// Discovery with explicit <paramref name="interpreters"/> (names on the PATH or paths) and
    /// <paramref name="searchRoots"/> (folders under which <c>lib/python3*/{site,dist}-packages/torch/lib</c> or
    /// <c>python3*/{site,dist}-packages/torch/lib</c> is looked for).
    /// </summary>
    public static PyTorchDiscoveryResult Run(IEnumerable<string> interpreters, IEnumerable<string> searchRoots)
    {
        var candidates = new List<LibTorchCandidate>();
        var tried = new List<string>();
        void Add(string folder, string origin)
        {
            var full = Path.GetFullPath(folder);
            if (candidates.All(c => c.Folder != full)) candidates.Add(new LibTorchCandidate(full, origin));
        }
        foreach (var interpreter in interpreters)
        {
            var (path, outcome) = Ask(interpreter);
            if (path is not null) Add(path, $"PyTorch of {interpreter}");
            else tried.Add($"{interpreter}: {outcome}");
        }
        foreach (var root in searchRoots.Where(Directory.Exists).Distinct())
        {
            var found = SitePackages(root).Select(p => Path.Combine(p, "torch", "lib")).Where(Directory.Exists).ToList();
            foreach (var folder in found) Add(folder, $"installed under {root}");
            if (found.Count == 0) tried.Add($"{root}: no torch/lib in its site-packages");
        }
        return new PyTorchDiscoveryResult(candidates, tried);
    }

    /// <summary>The active virtual and conda environments, then the system and user Python prefixes.</summary>
    public static IEnumerable<string> DefaultSearchRoots()
    {
        foreach (var variable in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } prefix) yield return prefix;
        yield return "/usr/lib";
        yield return "/usr/local/lib";
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (home.Length > 0) yield return Path.Combine(home, ".local", "lib");
    }

    private static IEnumerable<string> SitePackages(string root)
    {
        foreach (var parent in new[] { root, Path.Combine(root, "lib") }.Where(Directory.Exists))
            foreach (var python in Directory.EnumerateDirectories(parent, "python3*").Order(StringComparer.Ordinal))
                foreach (var kind in new[] { "site-packages", "dist-packages" })
                    yield return Path.Combine(python, kind);
    }

    // Asks one interpreter where torch is; a missing interpreter, a failure or a timeout is a reason, never an exception.
    private static (string? Folder, string Outcome) Ask(string interpreter)
    {
        try
        {
            var start = new ProcessStartInfo(interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(FindSpec);
            using var process = Process.Start(start);
            if (process is null) return (null, "could not be started");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill(entireProcessTree: true);
                return (null, "did not answer within 20 s");
            }
            var folder = output.Result.Trim();
            if (process.ExitCode != 0)
                return (null, $"failed (exit {process.ExitCode}: {error.Result.Trim().Split('\n').LastOrDefault()?.Trim()})");
            return folder.Length > 0 ? (folder, "found") : (null, "no PyTorch installed for it");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, "not found on the PATH");
        }
    }
}
