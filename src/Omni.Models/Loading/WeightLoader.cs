using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Models.Loading;

/// <summary>What a load matched: checkpoint keys the module lacks, module keys the checkpoint lacks, and shape conflicts.</summary>
/// <param name="Loaded">Keys copied into the module.</param>
/// <param name="Missing">Module parameters and buffers the checkpoint does not provide.</param>
/// <param name="Unexpected">Checkpoint tensors the module has no place for.</param>
/// <param name="ShapeMismatches">Keys present in both with different shapes (not copied).</param>
public sealed record LoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> ShapeMismatches)
{
    /// <summary>Whether every key matched exactly.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <inheritdoc />
    public override string ToString() =>
        $"loaded {Loaded.Count}; missing [{string.Join(", ", Missing)}]; unexpected [{string.Join(", ", Unexpected)}]; shape mismatches [{string.Join(", ", ShapeMismatches)}]";
}

/// <summary>
/// Copies safetensors weights into a module by state-dict key (diffusers' parameter names), casting to each
/// parameter's dtype. Strict loading fails with the full report when anything does not match.
/// </summary>
public static class WeightLoader
{
    /// <summary>Loads the safetensors file <paramref name="file"/> into <paramref name="module"/>.</summary>
    public static LoadReport Load(nn.Module module, string file, bool strict = true)
    {
        using var weights = SafetensorsFile.Open(file);
        return Load(module, weights, strict, file);
    }

    /// <summary>Loads any tensor source (a file or a sharded checkpoint) into <paramref name="module"/>.</summary>
    public static LoadReport Load(nn.Module module, ITensorSource weights, bool strict = true, string? description = null)
    {
        var targets = module.state_dict();
        var loaded = new List<string>();
        var mismatches = new List<string>();
        using (no_grad())
        {
            foreach (var (key, target) in targets)
            {
                if (!weights.Entries.TryGetValue(key, out var entry)) continue;
                if (!entry.Shape.SequenceEqual(target.shape))
                {
                    mismatches.Add($"{key}: checkpoint ({string.Join(", ", entry.Shape)}) vs module ({string.Join(", ", target.shape)})");
                    continue;
                }
                using var source = weights.Read(key, target.dtype);
                target.copy_(source);
                loaded.Add(key);
            }
        }
        var report = new LoadReport(loaded,
            targets.Keys.Where(k => !weights.Entries.ContainsKey(k)).Order(StringComparer.Ordinal).ToList(),
            weights.Entries.Keys.Where(k => !targets.ContainsKey(k)).Order(StringComparer.Ordinal).ToList(),
            mismatches);
        if (strict && !report.IsExact)
            throw new SafetensorsException($"'{description ?? "the checkpoint"}' does not match the module exactly: {report}");
        return report;
    }
}
