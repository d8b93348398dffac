using System.Collections.Concurrent;
using System.Text.Json;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>
/// One golden suite: its manifest (<c>NAME.json</c>, a list of cases) and its tensors
/// (<c>NAME.safetensors</c>). Test classes enumerate the case ids for xunit and look cases up by id.
/// </summary>
public sealed class GoldenSuite
{
    private static readonly ConcurrentDictionary<string, GoldenSuite> Loaded = new();
    private readonly Dictionary<string, JsonElement> _cases;
    private readonly string _tensorPath;
    private readonly object _gate = new();

    private GoldenSuite(string name)
    {
        Name = name;
        var manifestPath = System.IO.Path.Combine(GoldenDirectory.Path, name + ".json");
        using var document = JsonDocument.Parse(File.ReadAllText(manifestPath));
        var cases = document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
        _cases = cases.ToDictionary(c => c.GetProperty("id").GetString()!);
        CaseIds = cases.Select(c => c.GetProperty("id").GetString()!).ToList();
        _tensorPath = System.IO.Path.Combine(GoldenDirectory.Path, name + ".safetensors");
    }

    /// <summary>The suite's name (the file stem).</summary>
    public string Name { get; }

    /// <summary>Every case id, in manifest order.</summary>
    public IReadOnlyList<string> CaseIds { get; }

    /// <summary>Loads (once per process) the suite called <paramref name="name"/>.</summary>
    public static GoldenSuite Load(string name) => Loaded.GetOrAdd(name, n => new GoldenSuite(n));

    /// <summary>The case with this id.</summary>
    public JsonElement Case(string id) => _cases[id];

    /// <summary>The ids of the cases matching <paramref name="predicate"/>, as xunit theory data.</summary>
    public TheoryData<string> Ids(Func<JsonElement, bool> predicate)
    {
        var data = new TheoryData<string>();
        foreach (var id in CaseIds.Where(id => predicate(_cases[id]))) data.Add(id);
        return data;
    }

    /// <summary>
    /// Fails unless every case's kind (as <paramref name="kindOf"/> classifies it) is one a test runs: a
    /// manifest from another reference set must not carry cases the suite silently ignores.
    /// </summary>
    public void AssertEveryCaseIsCovered(Func<JsonElement, string> kindOf, params string[] testedKinds)
    {
        var uncovered = CaseIds.Where(id => !testedKinds.Contains(kindOf(_cases[id]))).ToList();
        Assert.True(uncovered.Count == 0, $"{Name}: cases no test runs: " + string.Join(", ", uncovered));
    }

    /// <summary>Reads the tensor stored under <paramref name="key"/>, on the test device (<c>OMNI_TEST_DEVICE</c>).</summary>
    public Tensor Tensor(string key)
    {
        lock (_gate)
        {
            using var file = SafetensorsFile.Open(_tensorPath);
            return file.Read(key).OnTestDevice();
        }
    }

    /// <summary>Reads the tensor named by <c>case[section][name]</c> (e.g. inputs/sample).</summary>
    public Tensor Tensor(JsonElement testCase, string section, string name) =>
        Tensor(testCase.GetProperty(section).GetProperty(name).GetString()!);
}
