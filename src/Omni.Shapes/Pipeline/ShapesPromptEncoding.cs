using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Effects.Prompts;
using Omni.Models.Adapters;
using Omni.Shapes.Model;
using Omni.Shapes.World;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// Turns prompt texts into what rollouts and training consume: token ids, then the text encoder's
/// <c>prompt_embeds</c> with the SD3 extras <c>pooled_prompt_embeds</c>, and the empty prompt's embeddings as the
/// negative (unconditional) side of classifier-free guidance (<c>negative_prompt_embeds</c>,
/// <c>negative_pooled_prompt_embeds</c>), one row per prompt.
/// </summary>
public static class ShapesPromptEncoding
{
    /// <summary>The token ids (N, MaxTokens) int64 of <paramref name="texts"/>, or the first text that is not in the vocabulary.</summary>
    public static Either<OmniError, Tensor> Tokens(IEnumerable<string> texts) =>
        texts.Select(ShapesVocabulary.Tokenize).Sequence().Map(rows =>
        {
            var all = rows.ToArray();
            return tensor(all.SelectMany(r => r.Select(id => (long)id)).ToArray(), [all.Length, ShapesVocabulary.MaxTokens]);
        });

    /// <summary>The token ids (N, MaxTokens) int64 of prompts of the world (cannot fail).</summary>
    public static Tensor Tokens(IReadOnlyList<ShapesPrompt> prompts) =>
        tensor(prompts.SelectMany(p => ShapesVocabulary.Tokenize(p).Select(id => (long)id)).ToArray(), [prompts.Count, ShapesVocabulary.MaxTokens]);

    /// <summary>The token row of the empty prompt (1, MaxTokens): all padding.</summary>
    public static Tensor EmptyTokens() => full(1, ShapesVocabulary.MaxTokens, (long)ShapesVocabulary.PadId, ScalarType.Int64);

    /// <summary>
    /// Encodes <paramref name="texts"/> without gradients: prompt embeddings, pooled extras, and the empty prompt's
    /// embeddings repeated as the negatives. The texts are kept (for logs and rewards). Fails on a word outside the
    /// vocabulary.
    /// </summary>
    public static Either<OmniError, PromptEmbeddings> Encode(ShapesTextEncoder encoder, IReadOnlyList<string> texts)
    {
        if (texts.Count == 0) return Left<OmniError, PromptEmbeddings>(OmniError.Invalid("No prompts to encode."));
        return Tokens(texts).Map(ids =>
        {
            using var _ = ids;
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            // Token ids are made on the host; the embeddings are computed where the encoder's weights are.
            var device = encoder.parameters().First().device;
            var (embeds, pooled) = encoder.forward(ids.to(device));
            using var empty = EmptyTokens().to(device);
            var (negative, negativePooled) = encoder.forward(empty);
            var n = texts.Count;
            var extras = ImmutableDictionary<string, Tensor>.Empty
                .Add(Sd3FlowGrpo.Pooled, pooled.MoveToOuterDisposeScope())
                .Add(Sd3FlowGrpo.NegativePooled, negativePooled.expand(n, -1).contiguous().MoveToOuterDisposeScope());
            return new PromptEmbeddings(embeds.MoveToOuterDisposeScope(), null,
                negative.expand(n, -1, -1).contiguous().MoveToOuterDisposeScope(), null, extras, [.. texts]);
        });
    }
}
