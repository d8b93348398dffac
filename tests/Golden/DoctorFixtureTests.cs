using System.Text.Json;
using Omni.Effects.Safetensors;
using Omni.Tests.Golden.Infrastructure;

namespace Omni.Tests.Golden;

/// <summary>
/// <c>omni doctor</c> checks devices against a subset of these fixtures that ships with the executable
/// (src/Omni.Cli/Doctor/Fixtures, made by tools/doctor-fixtures/make_subset.py). It must stay the reference's own data:
/// every case identical to the golden case of the same id, every tensor and model file byte for byte.
/// </summary>
public sealed class DoctorFixtureTests
{
    private static string SubsetFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Omni.Cli", "Doctor", "Fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("src/Omni.Cli/Doctor/Fixtures not found above the test binaries.");
    }

    [Theory]
    [InlineData("schedules")]
    [InlineData("sde_steps")]
    public void Every_doctor_case_is_a_golden_case_with_the_same_tensors(string suite)
    {
        // Compared against the vendored copy the subset was made from (OMNI_GOLDEN_DIR may point at another reference set).
        var golden = Path.Combine(SubsetFolder(), "..", "..", "..", "..", "tests", "Golden", "Fixtures");
        using var subsetManifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(SubsetFolder(), suite + ".json")));
        using var goldenManifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(golden, suite + ".json")));
        var goldenCases = goldenManifest.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetRawText());
        var cases = subsetManifest.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.NotEmpty(cases);
        using var subsetTensors = SafetensorsFile.Open(Path.Combine(SubsetFolder(), suite + ".safetensors"));
        using var goldenTensors = SafetensorsFile.Open(Path.Combine(golden, suite + ".safetensors"));
        foreach (var c in cases)
        {
            var id = c.GetProperty("id").GetString()!;
            Assert.True(goldenCases.TryGetValue(id, out var raw), $"{suite}: the doctor's case {id} is not a golden case");
            Assert.Equal(Canonical(raw!), Canonical(c.GetRawText()));
        }
        Assert.NotEmpty(subsetTensors.Entries);
        foreach (var key in subsetTensors.Entries.Keys)
        {
            using var mine = subsetTensors.Read(key);
            using var reference = goldenTensors.Read(key);
            TensorAssert.Identical(mine, reference, $"{suite} {key}");
        }
    }

    [Fact]
    public void The_doctor_model_folders_are_copies_of_the_golden_ones()
    {
        var golden = Path.Combine(SubsetFolder(), "..", "..", "..", "..", "tests", "Golden", "Fixtures");
        foreach (var folder in Directory.GetDirectories(Path.Combine(SubsetFolder(), "models")))
            foreach (var file in Directory.GetFiles(folder))
            {
                var reference = Path.Combine(golden, "models", Path.GetFileName(folder), Path.GetFileName(file));
                Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(reference)), $"{file} differs from {reference}");
            }
    }

    private static string Canonical(string json) => JsonSerializer.Serialize(JsonSerializer.Deserialize<JsonElement>(json));
}
