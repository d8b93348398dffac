using System.Collections.Concurrent;
using System.Text.Json;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>
/// One golden suite: its manifest (<c>NAME.json</c>, a list of cases) and its tensors (<c>NAME.safetensors</c>). Test
/// classes enumerate the case ids for xunit and run each case through <see cref="Check"/>, which fails the case when it
/// declares anything the test did not read (see <see cref="GoldenCase"/>). A test class that checks a suite says so with
/// <see cref="ChecksFixtureAttribute"/>, so that a suite no class claims fails <c>FixtureCoverageTests</c>.
/// </summary>
public sealed class GoldenSuite
{
    private static readonly ConcurrentDictionary<string, GoldenSuite> Loaded = new();
    private readonly Dictionary<string, JsonElement> _cases;
    private readonly string _tensorPath;
    private readonly HashSet<string> _keys;
    private readonly object _gate = new();

    private GoldenSuite(string name)
    {
        Name = name;
        var manifestPath = System.IO.Path.Combine(GoldenDirectory.Path, name + ".json");
        using var document = JsonDocument.Parse(File.ReadAllText(manifestPath));
        if (document.RootElement.TryGetProperty("suite", out var declared) && declared.GetString() != name)
            throw new InvalidDataException($"{manifestPath} declares suite '{declared.GetString()}', not '{name}'.");
        var cases = document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
        _cases = cases.ToDictionary(c => c.GetProperty("id").GetString()!);
        CaseIds = cases.Select(c => c.GetProperty("id").GetString()!).ToList();
        _tensorPath = System.IO.Path.Combine(GoldenDirectory.Path, name + ".safetensors");
        using var file = SafetensorsFile.Open(_tensorPath);
        _keys = [.. file.Entries.Keys];
    }

    /// <summary>The suite's name (the file stem).</summary>
    public string Name { get; }

    /// <summary>Every case id, in manifest order.</summary>
    public IReadOnlyList<string> CaseIds { get; }

    /// <summary>Loads (once per process) the suite called <paramref name="name"/>.</summary>
    public static GoldenSuite Load(string name) => Loaded.GetOrAdd(name, n => new GoldenSuite(n));

    /// <summary>The raw JSON of a case (for selecting cases; tests read cases through <see cref="Check"/>).</summary>
    public JsonElement Raw(string id) => _cases[id];

    /// <summary>
    /// Runs <paramref name="test"/> on the case <paramref name="id"/>, then fails if the case declares a property or a
    /// tensor the test did not read (an output it does not compare, an input it does not feed, a parameter it ignores).
    /// </summary>
    public void Check(string id, Action<GoldenCase> test)
    {
        var testCase = new GoldenCase(this, _cases[id]);
        test(testCase);
        var missed = testCase.Unchecked();
        if (missed.Count > 0)
            throw new Xunit.Sdk.XunitException(
                $"{Name} case {id} declares [{string.Join(", ", missed)}], which this test does not check. Compare it, "
                + "or mark it with GoldenCase.NotUsed(name, reason) if it cannot change the result.");
    }

    /// <summary>
    /// The case <paramref name="id"/> for a test that uses part of it as data (for example to check an adapter's recipe
    /// against a schedule), where another test of this suite checks the case in full through <see cref="Check"/>.
    /// </summary>
    public GoldenCase Borrow(string id) => new(this, _cases[id]);

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

    /// <summary>
    /// Whether a case property is a map from names to keys of this suite's tensor file (inputs, outputs, tables): an object
    /// of strings, at least one of them a key of the file (a key the file lacks is still a declared tensor, and fails when read).
    /// </summary>
    internal bool IsTensorMap(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object && value.EnumerateObject().Any()
        && value.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String)
        && value.EnumerateObject().Any(p => _keys.Contains(p.Value.GetString()!));

    /// <summary>Reads the tensor stored under <paramref name="key"/>; a key the file lacks fails, naming it.</summary>
    public Tensor Tensor(string key)
    {
        if (!_keys.Contains(key))
            throw new Xunit.Sdk.XunitException($"{Name}.safetensors has no tensor '{key}', which the manifest names.");
        lock (_gate)
        {
            using var file = SafetensorsFile.Open(_tensorPath);
            return file.Read(key);
        }
    }
}
