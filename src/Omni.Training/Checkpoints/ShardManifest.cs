using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omni.Training.Checkpoints;

/// <summary>
/// <c>sharding.json</c> of a sharded checkpoint: the world size it was written at and each trained parameter's full shape
/// and rows per rank, so a run at any world size can reassemble and re-cut it. Each rank's files are
/// <c>{kind}-rank-RRRRR-of-WWWWW.safetensors</c> for kind <c>trainable</c>, <c>optimizer</c> and <c>ema</c>.
/// </summary>
/// <param name="WorldSize">Ranks that wrote the checkpoint.</param>
/// <param name="Sharding">The sharding mode (<c>fsdp</c>).</param>
/// <param name="Parameters">Layout of each trained parameter, in training order.</param>
public sealed record ShardManifest(
    [property: JsonPropertyName("world_size")] int WorldSize,
    [property: JsonPropertyName("sharding")] string Sharding,
    [property: JsonPropertyName("parameters")] IReadOnlyList<ShardedTensorLayout> Parameters)
{
    /// <summary>The manifest's file name.</summary>
    public const string FileName = "sharding.json";

    /// <summary>The file of <paramref name="kind"/> written by <paramref name="rank"/> of <paramref name="worldSize"/>.</summary>
    public static string RankFile(string kind, int rank, int worldSize) => $"{kind}-rank-{rank:D5}-of-{worldSize:D5}.safetensors";

    /// <summary>Reads the manifest of <paramref name="checkpoint"/>, or null for an unsharded checkpoint.</summary>
    public static ShardManifest? Read(string checkpoint)
    {
        var path = Path.Combine(checkpoint, FileName);
        if (!File.Exists(path)) return null;
        return JsonSerializer.Deserialize<ShardManifest>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }

    /// <summary>Writes the manifest into <paramref name="folder"/>.</summary>
    public void Write(string folder) =>
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
}

/// <summary>How one parameter is split: its full shape and the rows of dim 0 each rank holds (zero-padded at the end).</summary>
/// <param name="Name">The parameter's name.</param>
/// <param name="Shape">Its full shape.</param>
/// <param name="RowsPerRank">Rows of dim 0 per rank.</param>
public sealed record ShardedTensorLayout(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("shape")] long[] Shape,
    [property: JsonPropertyName("rows_per_rank")] long RowsPerRank);
