using System.Collections.Immutable;
using Omni.Effects.Prompts;
using Omni.Effects.Safetensors;
using Omni.Tests.Behaviour.Support;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>The precomputed prompt-embeddings file: layout, checks, row selection.</summary>
public sealed class PromptEmbeddingsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omni-prompts-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Embeddings_round_trip_with_masks_extras_and_texts()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_directory, "prompts.safetensors");
        new PromptEmbeddings(arange(24, ScalarType.Float32).reshape(2, 3, 4), ones(2, 3, ScalarType.Int64), null, null,
            ImmutableDictionary<string, Tensor>.Empty.Add("pooled_prompt_embeds", full(2, 5, 0.5f)), ["a red circle", "two blue squares"]).Save(path);
        var loaded = PromptEmbeddings.Load(path);
        Assert.Equal(2, loaded.Count);
        Assert.Equal(new long[] { 2, 3 }, loaded.PromptEmbedsMask!.shape);
        Assert.Null(loaded.NegativePromptEmbeds);
        Assert.Equal(new long[] { 2, 5 }, loaded.Extras["pooled_prompt_embeds"].shape);
        Assert.Equal(new[] { "a red circle", "two blue squares" }, loaded.Prompts.ToArray());

        var group = loaded.Select([1, 1, 1]);
        Assert.Equal(new long[] { 3, 3, 4 }, group.PromptEmbeds.shape);
        Assert.Equal(Enumerable.Repeat("two blue squares", 3), group.Prompts.ToArray());
        Assert.Equal(12f, group.PromptEmbeds[2, 0, 0].item<float>());
    }

    [Fact]
    public void Files_with_missing_or_ragged_tensors_are_rejected()
    {
        using var scope = NewDisposeScope();
        var missing = Path.Combine(_directory, "missing.safetensors");
        SafetensorsWriter.Write(missing, new Dictionary<string, Tensor> { ["pooled_prompt_embeds"] = zeros(2, 5) });
        Assert.Contains("has no 'prompt_embeds'", Assert.Throws<SafetensorsException>(() => PromptEmbeddings.Load(missing)).Message);

        var ragged = Path.Combine(_directory, "ragged.safetensors");
        SafetensorsWriter.Write(ragged, new Dictionary<string, Tensor> { ["prompt_embeds"] = zeros(2, 3, 4), ["pooled_prompt_embeds"] = zeros(3, 5) });
        Assert.Contains("'pooled_prompt_embeds' has 3 rows, expected one per prompt (2)", Assert.Throws<SafetensorsException>(() => PromptEmbeddings.Load(ragged)).Message);

        var texts = Path.Combine(_directory, "texts.safetensors");
        SafetensorsWriter.Write(texts, new Dictionary<string, Tensor> { ["prompt_embeds"] = zeros(2, 3, 4) }, new Dictionary<string, string> { ["prompts"] = "[\"only one\"]" });
        Assert.Contains("lists 1 texts for 2 embeddings", Assert.Throws<SafetensorsException>(() => PromptEmbeddings.Load(texts)).Message);
    }
}
