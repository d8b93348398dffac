using System.Collections.Immutable;
using System.Text.Json;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Effects.Prompts;

/// <summary>
/// Precomputed prompt embeddings for a real pipeline, until Omni runs the text encoders itself. One safetensors file
/// holds N prompts:
/// <list type="bullet">
/// <item><c>prompt_embeds</c> (N, L, D) — required;</item>
/// <item><c>prompt_embeds_mask</c> (N, L), 1 for real tokens — optional (Qwen-Image uses it);</item>
/// <item><c>negative_prompt_embeds</c>, <c>negative_prompt_embeds_mask</c> — optional, for CFG;</item>
/// <item>any other tensor with N rows is a model extra passed through by name, e.g. <c>pooled_prompt_embeds</c>
/// (N, P) and <c>negative_pooled_prompt_embeds</c> for SD3;</item>
/// <item>metadata <c>prompts</c>: a JSON list of the N prompt texts — optional, for logs and reward functions.</item>
/// </list>
/// A value owns its tensors: <see cref="Load"/> and <see cref="Select"/> return new ones, which disposing the value frees.
/// </summary>
public sealed record PromptEmbeddings(
    Tensor PromptEmbeds,
    Tensor? PromptEmbedsMask,
    Tensor? NegativePromptEmbeds,
    Tensor? NegativePromptEmbedsMask,
    ImmutableDictionary<string, Tensor> Extras,
    ImmutableArray<string> Prompts) : IDisposable
{
    /// <summary>The number of prompts N.</summary>
    public long Count => PromptEmbeds.shape[0];

    /// <summary>Reads and checks a prompt-embeddings file (every tensor must have N rows).</summary>
    public static PromptEmbeddings Load(string path, ScalarType dtype = ScalarType.Float32)
    {
        using var file = SafetensorsFile.Open(path);
        if (!file.Entries.ContainsKey("prompt_embeds"))
            throw new SafetensorsException($"'{path}' has no 'prompt_embeds' tensor (N, L, D); it has [{string.Join(", ", file.Entries.Keys.Order())}].");
        var count = file.Entries["prompt_embeds"].Shape is [var n, _, _] ? n
            : throw new SafetensorsException($"'{path}': 'prompt_embeds' must be (N, L, D), got ({string.Join(", ", file.Entries["prompt_embeds"].Shape)}).");
        foreach (var (name, entry) in file.Entries)
            if (entry.Shape.Length == 0 || entry.Shape[0] != count)
                throw new SafetensorsException($"'{path}': '{name}' has {(entry.Shape.Length == 0 ? "no rows" : $"{entry.Shape[0]} rows")}, expected one per prompt ({count}).");
        Tensor Embeds(string name) => file.Read(name, dtype);
        Tensor? Optional(string name, ScalarType? type = null) => file.Entries.ContainsKey(name) ? file.Read(name, type) : null;
        var known = new[] { "prompt_embeds", "prompt_embeds_mask", "negative_prompt_embeds", "negative_prompt_embeds_mask" };
        var prompts = file.Metadata.TryGetValue("prompts", out var json) ? ParsePrompts(path, json, count) : [];
        return new PromptEmbeddings(Embeds("prompt_embeds"), Optional("prompt_embeds_mask", ScalarType.Int64),
            Optional("negative_prompt_embeds", dtype), Optional("negative_prompt_embeds_mask", ScalarType.Int64),
            file.Entries.Keys.Except(known).ToImmutableDictionary(k => k, k => file.Read(k, file.Entries[k].DType is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64 ? dtype : null)),
            prompts);
    }

    /// <summary>The rows <paramref name="indices"/> (e.g. one prompt repeated n times for a GRPO group).</summary>
    public PromptEmbeddings Select(IReadOnlyList<long> indices)
    {
        // The index tensors are temporaries; only the selected rows leave this scope.
        using var scope = NewDisposeScope();
        var rows = tensor(indices.ToArray(), ScalarType.Int64);
        Tensor Pick(Tensor t) => t.index_select(0, rows.to(t.device)).MoveToOuterDisposeScope();
        return new PromptEmbeddings(Pick(PromptEmbeds), PromptEmbedsMask is null ? null : Pick(PromptEmbedsMask),
            NegativePromptEmbeds is null ? null : Pick(NegativePromptEmbeds), NegativePromptEmbedsMask is null ? null : Pick(NegativePromptEmbedsMask),
            Extras.ToImmutableDictionary(p => p.Key, p => Pick(p.Value)),
            Prompts.IsDefaultOrEmpty ? [] : [.. indices.Select(i => Prompts[(int)i])]);
    }

    /// <summary>Writes embeddings in this layout (for tools that precompute them).</summary>
    public void Save(string path)
    {
        var tensors = new Dictionary<string, Tensor>(Extras) { ["prompt_embeds"] = PromptEmbeds };
        if (PromptEmbedsMask is not null) tensors["prompt_embeds_mask"] = PromptEmbedsMask;
        if (NegativePromptEmbeds is not null) tensors["negative_prompt_embeds"] = NegativePromptEmbeds;
        if (NegativePromptEmbedsMask is not null) tensors["negative_prompt_embeds_mask"] = NegativePromptEmbedsMask;
        var metadata = Prompts.IsDefaultOrEmpty ? null : new Dictionary<string, string> { ["prompts"] = JsonSerializer.Serialize(Prompts) };
        SafetensorsWriter.Write(path, tensors, metadata);
    }

    /// <summary>Disposes the embeddings, masks and extras.</summary>
    public void Dispose()
    {
        PromptEmbeds.Dispose();
        PromptEmbedsMask?.Dispose();
        NegativePromptEmbeds?.Dispose();
        NegativePromptEmbedsMask?.Dispose();
        foreach (var extra in Extras.Values) extra.Dispose();
    }

    private static ImmutableArray<string> ParsePrompts(string path, string json, long count)
    {
        string[]? texts;
        try { texts = JsonSerializer.Deserialize<string[]>(json); }
        catch (JsonException e) { throw new SafetensorsException($"'{path}': metadata 'prompts' is not a JSON list of strings: {e.Message}", e); }
        if (texts is null || texts.Length != count)
            throw new SafetensorsException($"'{path}': metadata 'prompts' lists {texts?.Length ?? 0} texts for {count} embeddings.");
        return [.. texts];
    }
}
