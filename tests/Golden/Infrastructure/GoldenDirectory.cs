namespace Omni.Tests.Golden.Infrastructure;

/// <summary>
/// Where the golden fixtures live: <c>OMNI_GOLDEN_DIR</c> when set (to run another reference set through
/// the same suite), otherwise the copy vendored in <c>tests/Golden/Fixtures</c>.
/// </summary>
public static class GoldenDirectory
{
    /// <summary>The environment variable that overrides the fixture folder.</summary>
    public const string Variable = "OMNI_GOLDEN_DIR";

    /// <summary>The resolved fixture folder.</summary>
    public static string Path { get; } = Resolve();

    private static string Resolve()
    {
        var overridden = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            if (!Directory.Exists(overridden))
                throw new DirectoryNotFoundException($"{Variable} points to '{overridden}', which is not a folder.");
            return System.IO.Path.GetFullPath(overridden);
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "Golden", "Fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"No tests/Golden/Fixtures folder above {AppContext.BaseDirectory}; set {Variable}.");
    }
}
