using System.Text.RegularExpressions;

namespace Omni.Effects.Devices;

/// <summary>
/// Checks a candidate libtorch folder by reading files only (a library once loaded cannot be unloaded, so nothing is
/// loaded until a folder has passed): the five libraries of the preload must be there, CUDA ones included, and the
/// version must be at least the one TorchSharp 0.107 was built against.
/// </summary>
public static partial class LibTorchFolder
{
    /// <summary>The libraries loaded from the folder, in load order (the dynamic loader then satisfies TorchSharp's
    /// native bridge from these sonames, so the CPU copies next to the application are never used).</summary>
    public static IReadOnlyList<string> PreloadOrder { get; } = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];

    /// <summary>The oldest libtorch TorchSharp 0.107 works with.</summary>
    public static Version MinimumVersion { get; } = new(2, 10);

    /// <summary>Inspects <paramref name="candidate"/>.</summary>
    public static LibTorchInspection Inspect(LibTorchCandidate candidate)
    {
        var folder = candidate.Folder;
        if (!Directory.Exists(folder)) return new(candidate, null, "folder does not exist");
        var version = ReadVersion(folder);
        var missing = PreloadOrder.Where(name => !File.Exists(Path.Combine(folder, name))).ToList();
        if (missing.Count == PreloadOrder.Count)
            return new(candidate, version, $"not a libtorch folder (none of {string.Join(", ", PreloadOrder)} in it)");
        var cpuOnly = missing.Contains("libtorch_cuda.so") || missing.Contains("libc10_cuda.so");
        var tooOld = version is not null && ParseVersion(version) is { } parsed && parsed < MinimumVersion;
        var named = version is null ? "libtorch" : $"PyTorch {version}";
        string? problem = (cpuOnly, tooOld) switch
        {
            (true, true) => $"{named}: CPU-only build (no libtorch_cuda.so) and older than {MinimumVersion}; Omni needs a CUDA build of PyTorch ≥ {MinimumVersion}",
            (true, false) => $"{named}: CPU-only build (no {string.Join(", ", missing)})",
            (false, true) => $"{named} is older than {MinimumVersion} (TorchSharp 0.107 is built against libtorch {MinimumVersion})",
            _ when missing.Count > 0 => $"library missing: {string.Join(", ", missing)}",
            _ => null,
        };
        return new(candidate, version, problem);
    }

    /// <summary>
    /// The version a folder declares: PyTorch's <c>torch/version.py</c> (<c>__version__ = '2.11.0+cu130'</c>) next to
    /// <c>torch/lib</c>, or a libtorch archive's <c>build-version</c>; null when neither is there.
    /// </summary>
    public static string? ReadVersion(string folder)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
        if (parent is null) return null;
        var versionPy = Path.Combine(parent, "version.py");
        if (File.Exists(versionPy) && VersionAssignment().Match(File.ReadAllText(versionPy)) is { Success: true } m)
            return m.Groups[1].Value;
        var buildVersion = Path.Combine(parent, "build-version");
        return File.Exists(buildVersion) ? File.ReadAllText(buildVersion).Trim() : null;
    }

    /// <summary>The numeric part of a version string (<c>2.11.0+cu130</c> → 2.11.0); null when it has none.</summary>
    public static Version? ParseVersion(string text)
    {
        var m = LeadingVersion().Match(text);
        return m.Success ? new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)) : null;
    }

    [GeneratedRegex(@"__version__\s*(?::\s*str\s*)?=\s*['""]([^'""]+)['""]")]
    private static partial Regex VersionAssignment();

    [GeneratedRegex(@"^\s*(\d+)\.(\d+)")]
    private static partial Regex LeadingVersion();
}
