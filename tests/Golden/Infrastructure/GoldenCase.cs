using System.Text.Json;
using static TorchSharp.torch;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>
/// One case of a golden manifest, as a test reads it. Every property and every tensor it declares (inputs, outputs,
/// training tables, any map of tensor keys) is recorded when the test reads it; <see cref="GoldenSuite.Check"/> then
/// fails the test if the case declares anything the test did not read. So a reference set that adds an output, a
/// gradient or a parameter the suite does not compare fails loudly instead of being ignored.
/// </summary>
public sealed class GoldenCase
{
    // Read by the suite itself: the id names the case and "op" selects the test (GoldenSuite.AssertEveryCaseIsCovered).
    private static readonly string[] Structural = ["id", "op"];
    private readonly GoldenSuite _suite;
    private readonly JsonElement _json;
    private readonly HashSet<string> _read = [];
    private readonly HashSet<(string Section, string Name)> _tensorsRead = [];
    private readonly Dictionary<string, string> _notUsed = [];

    internal GoldenCase(GoldenSuite suite, JsonElement json)
    {
        (_suite, _json) = (suite, json);
        Id = json.GetProperty("id").GetString()!;
    }

    /// <summary>The case id.</summary>
    public string Id { get; }

    /// <summary>The required property <paramref name="name"/>; a missing one fails with the case's id.</summary>
    public JsonElement this[string name]
    {
        get
        {
            if (!_json.TryGetProperty(name, out var value))
                throw new Xunit.Sdk.XunitException($"{_suite.Name} case {Id} has no '{name}'.");
            _read.Add(name);
            return value;
        }
    }

    /// <summary>Whether the case has <paramref name="name"/> (does not count as reading it).</summary>
    public bool Has(string name) => _json.TryGetProperty(name, out _);

    /// <summary>The property <paramref name="name"/> when present (then counted as read).</summary>
    public JsonElement? Optional(string name) => Has(name) ? this[name] : null;

    /// <summary>A string property.</summary>
    public string String(string name) => this[name].GetString()!;

    /// <summary>A number.</summary>
    public double Double(string name) => this[name].GetDouble();

    /// <summary>An integer.</summary>
    public int Int(string name) => this[name].GetInt32();

    /// <summary>A long integer.</summary>
    public long Long(string name) => this[name].GetInt64();

    /// <summary>A boolean.</summary>
    public bool Bool(string name) => this[name].GetBoolean();

    /// <summary>An array of integers.</summary>
    public long[] Longs(string name) => this[name].EnumerateArray().Select(x => x.GetInt64()).ToArray();

    /// <summary>
    /// Marks <paramref name="name"/> as deliberately not compared, with the reason (a label, or a parameter the reference
    /// set but that has no effect on what the test computes). The reason is part of the test's text, not of its output.
    /// </summary>
    public void NotUsed(string name, string reason)
    {
        if (!Has(name)) throw new Xunit.Sdk.XunitException($"{_suite.Name} case {Id}: NotUsed('{name}') names a property the case does not have.");
        _notUsed[name] = reason;
    }

    /// <summary>The tensor <c>section[name]</c> (e.g. outputs/log_prob); a name the section lacks, or a key the file lacks, fails.</summary>
    public Tensor Tensor(string section, string name)
    {
        var map = this[section];
        if (map.ValueKind != JsonValueKind.Object || !map.TryGetProperty(name, out var key) || key.ValueKind != JsonValueKind.String)
            throw new Xunit.Sdk.XunitException($"{_suite.Name} case {Id}: '{section}' declares no tensor '{name}'.");
        _tensorsRead.Add((section, name));
        return _suite.Tensor(key.GetString()!);
    }

    /// <summary>Whether <c>section[name]</c> is declared (does not count as reading it).</summary>
    public bool Declares(string section, string name) =>
        _json.TryGetProperty(section, out var map) && map.ValueKind == JsonValueKind.Object && map.TryGetProperty(name, out _);

    /// <summary>An input tensor.</summary>
    public Tensor Input(string name) => Tensor("inputs", name);

    /// <summary>An input tensor when declared.</summary>
    public Tensor? OptionalInput(string name) => Declares("inputs", name) ? Input(name) : null;

    /// <summary>A reference output.</summary>
    public Tensor Output(string name) => Tensor("outputs", name);

    /// <summary>Everything the case declares that was neither read nor marked <see cref="NotUsed"/>.</summary>
    internal IReadOnlyList<string> Unchecked()
    {
        var missed = new List<string>();
        foreach (var property in _json.EnumerateObject())
        {
            if (Structural.Contains(property.Name) || _notUsed.ContainsKey(property.Name)) continue;
            if (_suite.IsTensorMap(property.Value))
                missed.AddRange(property.Value.EnumerateObject().Where(t => !_tensorsRead.Contains((property.Name, t.Name))).Select(t => $"{property.Name}/{t.Name}"));
            else if (!_read.Contains(property.Name))
                missed.Add(property.Name);
        }
        return missed;
    }
}
