using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omni.Shapes.Model;

/// <summary>
/// The configuration of <see cref="ShapesTextEncoder"/> (its <c>text_encoder/config.json</c>): a word-level
/// vocabulary, learned positions and a few pre-norm transformer layers.
/// </summary>
public sealed record ShapesTextEncoderConfig
{
    /// <summary>The <c>_class_name</c> written to <c>config.json</c>.</summary>
    public const string ClassName = "ShapesTextEncoder";

    /// <summary><c>vocab_size</c>: token ids are 0 (padding) to vocab_size − 1.</summary>
    public int VocabSize { get; init; } = 32;
    /// <summary><c>max_position_embeddings</c>: the token row length L.</summary>
    public int MaxPositionEmbeddings { get; init; } = 8;
    /// <summary><c>hidden_size</c>: the width D of <c>prompt_embeds</c>.</summary>
    public int HiddenSize { get; init; } = 64;
    /// <summary><c>num_hidden_layers</c>.</summary>
    public int NumHiddenLayers { get; init; } = 2;
    /// <summary><c>num_attention_heads</c>; must divide <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; init; } = 2;
    /// <summary><c>intermediate_size</c>: the MLP's hidden width.</summary>
    public int IntermediateSize { get; init; } = 128;
    /// <summary><c>projection_dim</c>: the width P of the pooled embedding.</summary>
    public int ProjectionDim { get; init; } = 64;
    /// <summary><c>pad_token_id</c>.</summary>
    public int PadTokenId { get; init; }
    /// <summary><c>layer_norm_eps</c>.</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Every broken rule at once; empty when the configuration is usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        foreach (var (key, value) in new[] { ("vocab_size", VocabSize), ("max_position_embeddings", MaxPositionEmbeddings), ("hidden_size", HiddenSize),
                                             ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads),
                                             ("intermediate_size", IntermediateSize), ("projection_dim", ProjectionDim) })
            if (value < 1) problems.Add($"{key} must be positive, got {value}.");
        if (NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
            problems.Add($"hidden_size ({HiddenSize}) must be divisible by num_attention_heads ({NumAttentionHeads}).");
        if (PadTokenId < 0 || PadTokenId >= VocabSize) problems.Add($"pad_token_id ({PadTokenId}) must be a token id below vocab_size ({VocabSize}).");
        return problems;
    }

    /// <summary>The <c>config.json</c> text.</summary>
    public string ToJson() => new JsonObject
    {
        ["_class_name"] = ClassName,
        ["vocab_size"] = VocabSize,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["hidden_size"] = HiddenSize,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["num_attention_heads"] = NumAttentionHeads,
        ["intermediate_size"] = IntermediateSize,
        ["projection_dim"] = ProjectionDim,
        ["pad_token_id"] = PadTokenId,
        ["layer_norm_eps"] = LayerNormEps,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Reads a <c>config.json</c> text (absent keys take the defaults) and checks it.</summary>
    /// <exception cref="ArgumentException">The text is not a usable configuration; the message lists every problem.</exception>
    public static ShapesTextEncoderConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var d = new ShapesTextEncoderConfig();
        int Int(string key, int fallback) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        var config = d with
        {
            VocabSize = Int("vocab_size", d.VocabSize),
            MaxPositionEmbeddings = Int("max_position_embeddings", d.MaxPositionEmbeddings),
            HiddenSize = Int("hidden_size", d.HiddenSize),
            NumHiddenLayers = Int("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = Int("num_attention_heads", d.NumAttentionHeads),
            IntermediateSize = Int("intermediate_size", d.IntermediateSize),
            ProjectionDim = Int("projection_dim", d.ProjectionDim),
            PadTokenId = Int("pad_token_id", d.PadTokenId),
            LayerNormEps = root.TryGetProperty("layer_norm_eps", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : d.LayerNormEps,
        };
        var problems = config.Problems();
        return problems.Count == 0 ? config
            : throw new ArgumentException($"The text encoder configuration is not usable: {string.Join(" ", problems)}");
    }
}
