using System.Text.Json;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Cli.Doctor;

/// <summary>
/// The small vendored subset of the golden fixtures that ships with <c>omni</c> (<c>doctor/</c> next to the executable;
/// made by <c>tools/doctor-fixtures/make_subset.py</c>): a manifest of cases and their tensors per suite.
/// </summary>
public sealed class DoctorFixtures
{
    private readonly string _folder;

    private DoctorFixtures(string folder) => _folder = folder;

    /// <summary>The folder next to the executable.</summary>
    public static string DefaultFolder => Path.Combine(AppContext.BaseDirectory, "doctor");

    /// <summary>Opens the fixture folder.</summary>
    /// <exception cref="DirectoryNotFoundException">It is missing (a broken install).</exception>
    public static DoctorFixtures Open(string? folder = null)
    {
        var path = folder ?? DefaultFolder;
        if (!File.Exists(Path.Combine(path, "sde_steps.json")))
            throw new DirectoryNotFoundException($"The doctor's reference data is missing from '{path}' (expected sde_steps.json there); reinstall or republish omni.");
        return new DoctorFixtures(path);
    }

    /// <summary>The folder.</summary>
    public string Folder => _folder;

    /// <summary>The cases of suite <paramref name="name"/>.</summary>
    public IReadOnlyList<JsonElement> Cases(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_folder, name + ".json")));
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
    }

    /// <summary>The tensor <c>case[section][name]</c> of suite <paramref name="suite"/>, on <paramref name="device"/>.</summary>
    public Tensor Tensor(string suite, JsonElement testCase, string section, string name, Device device)
    {
        using var file = SafetensorsFile.Open(Path.Combine(_folder, suite + ".safetensors"));
        using var host = file.Read(testCase.GetProperty(section).GetProperty(name).GetString()!);
        return host.to(device);
    }
}
