using System.Reflection;
using Omni.Tests.Golden.Infrastructure;

namespace Omni.Tests.Golden;

/// <summary>
/// Every fixture in the golden directory is checked by some test: each suite (<c>NAME.json</c> with its
/// <c>NAME.safetensors</c>) and each folder of fixtures is claimed by a class marked <see cref="ChecksFixtureAttribute"/>.
/// Documentation (<c>*.md</c>) is the only thing allowed to go unclaimed.
/// </summary>
public sealed class FixtureCoverageTests
{
    private static HashSet<string> Claimed() =>
        [.. typeof(FixtureCoverageTests).Assembly.GetTypes().SelectMany(t => t.GetCustomAttributes<ChecksFixtureAttribute>()).Select(a => a.Fixture)];

    [Fact]
    public void Every_suite_and_fixture_folder_is_claimed_by_a_test()
    {
        var claimed = Claimed();
        var unclaimed = new List<string>();
        foreach (var entry in new DirectoryInfo(GoldenDirectory.Path).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry is DirectoryInfo directory)
            {
                if (!claimed.Contains(directory.Name + "/")) unclaimed.Add(directory.Name + "/");
                continue;
            }
            if (entry.Extension == ".md") continue;
            var stem = Path.GetFileNameWithoutExtension(entry.Name);
            if (entry.Extension is not (".json" or ".safetensors") || !claimed.Contains(stem)) unclaimed.Add(entry.Name);
            // A suite is a pair: a manifest without its tensors (or the reverse) is a broken fixture, not a smaller one.
            var partner = Path.Combine(GoldenDirectory.Path, stem + (entry.Extension == ".json" ? ".safetensors" : ".json"));
            if (entry.Extension is ".json" or ".safetensors" && !File.Exists(partner)) unclaimed.Add($"{entry.Name} (no {Path.GetFileName(partner)})");
        }
        Assert.True(unclaimed.Count == 0,
            $"{GoldenDirectory.Path} holds fixtures no test checks: {string.Join(", ", unclaimed)}. Add a test class marked "
            + "[ChecksFixture(\"<suite>\")] (or \"<folder>/\") that runs every case of it.");
    }

    [Fact]
    public void Every_claim_names_a_fixture_that_exists()
    {
        // A claim for a suite the directory does not have would hide a missing fixture behind a passing coverage test.
        var missing = Claimed().Where(name => name.EndsWith('/')
            ? !Directory.Exists(Path.Combine(GoldenDirectory.Path, name.TrimEnd('/')))
            : !File.Exists(Path.Combine(GoldenDirectory.Path, name + ".json"))).ToList();
        Assert.True(missing.Count == 0, $"Tests claim fixtures that {GoldenDirectory.Path} does not have: {string.Join(", ", missing)}.");
    }
}
