using System.Text.Json;
using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>
/// A checkpoint split over several safetensors files and described by an index
/// (<c>*.safetensors.index.json</c>: <c>{"weight_map": {tensor: file}}</c>), read as one tensor source.
/// </summary>
public sealed class ShardedCheckpoint : ITensorSource
{
    private readonly Dictionary<string, SafetensorsFile> _fileOf;
    private readonly List<SafetensorsFile> _files;

    private ShardedCheckpoint(Dictionary<string, SafetensorsFile> fileOf, List<SafetensorsFile> files)
    {
        _fileOf = fileOf;
        _files = files;
        Entries = fileOf.ToDictionary(p => p.Key, p => p.Value.Entries[p.Key]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>Opens every shard the index names and checks that each mapped tensor is where the index says.</summary>
    public static ShardedCheckpoint Open(string indexPath)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException($"'{indexPath}' has no \"weight_map\" object.");
            weightMap = map.EnumerateObject().ToDictionary(p => p.Name,
                p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new SafetensorsException($"'{indexPath}': the shard of '{p.Name}' is not a file name."));
        }
        catch (JsonException e) { throw new SafetensorsException(Diffusers.JsonFiles.Describe(indexPath, e), e); }
        catch (IOException e) when (e is not SafetensorsException) { throw new SafetensorsException($"Cannot read '{indexPath}': {e.Message}", e); }

        var directory = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var opened = new Dictionary<string, SafetensorsFile>();
        try
        {
            foreach (var shard in weightMap.Values.Distinct())
            {
                if (shard.Contains("..") || Path.IsPathRooted(shard))
                    throw new SafetensorsException($"'{indexPath}' names the shard '{shard}' outside its folder.");
                opened[shard] = SafetensorsFile.Open(Path.Combine(directory, shard));
            }
            var fileOf = new Dictionary<string, SafetensorsFile>();
            foreach (var (name, shard) in weightMap)
            {
                if (!opened[shard].Entries.ContainsKey(name))
                    throw new SafetensorsException($"'{indexPath}' maps '{name}' to '{shard}', which does not contain it.");
                fileOf[name] = opened[shard];
            }
            return new ShardedCheckpoint(fileOf, [.. opened.Values]);
        }
        catch
        {
            foreach (var file in opened.Values) file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public Tensor Read(string name, ScalarType? dtype = null) =>
        _fileOf.TryGetValue(name, out var file) ? file.Read(name, dtype) : throw new SafetensorsException($"The sharded checkpoint has no tensor named '{name}'.");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
