using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Shapes.World;

/// <summary>
/// The word-level tokenizer of the shapes world: every prompt is at most <see cref="MaxTokens"/> words from a
/// closed vocabulary, so a lookup table replaces a BPE tokenizer and a tiny text encoder can embed ids directly.
/// </summary>
public static class ShapesVocabulary
{
    /// <summary>The id of the padding token, <c>&lt;pad&gt;</c>.</summary>
    public const int PadId = 0;

    /// <summary>The longest prompt in words ("three red circles left of a blue square"); every token row has this length.</summary>
    public const int MaxTokens = 8;

    /// <summary>The vocabulary: index 0 is <c>&lt;pad&gt;</c>, then every word the grammar can produce (multi-word relations split).</summary>
    public static IReadOnlyList<string> Words { get; } = ["<pad>", .. PromptGrammar.AllWords];

    private static readonly IReadOnlyDictionary<string, int> Ids =
        Words.Select((w, i) => (w, i)).Skip(1).ToDictionary(p => p.w, p => p.i);

    /// <summary>
    /// The ids of the words of <paramref name="text"/> (case-insensitive, any whitespace), right-padded with
    /// <see cref="PadId"/> to exactly <see cref="MaxTokens"/>; an unknown word or a text that is too long is an error.
    /// Only the vocabulary is checked, not the grammar: use <see cref="ShapesPrompt.Parse"/> for that.
    /// </summary>
    public static Either<OmniError, int[]> Tokenize(string text)
    {
        var words = PromptGrammar.Words(text ?? "");
        if (words.Length > MaxTokens)
            return Left<OmniError, int[]>(OmniError.Invalid($"\"{text}\" has {words.Length} words; prompts have at most {MaxTokens}."));
        var ids = new int[MaxTokens];
        for (var i = 0; i < words.Length; i++)
        {
            if (!Ids.TryGetValue(words[i], out var id))
                return Left<OmniError, int[]>(OmniError.Invalid(
                    $"Unknown word '{words[i]}' (word {i + 1}) in \"{text}\"; the vocabulary is: {string.Join(", ", Words.Skip(1))}."));
            ids[i] = id;
        }
        return Right<OmniError, int[]>(ids);
    }

    /// <summary>The ids of a prompt of the world; cannot fail, since its text only uses vocabulary words.</summary>
    public static int[] Tokenize(ShapesPrompt prompt) =>
        Tokenize(prompt.Text).Match(Right: ids => ids, Left: e => throw new InvalidOperationException(e.Message));

    /// <summary>The attention mask of a token row: true for a word, false for padding.</summary>
    public static bool[] Mask(int[] ids) => ids.Select(id => id != PadId).ToArray();

    /// <summary>The text of a token row, padding dropped: the inverse of <see cref="Tokenize(string)"/> up to case and whitespace.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public static string Detokenize(int[] ids) =>
        string.Join(' ', ids.Where(id => id != PadId).Select(id =>
            id >= 0 && id < Words.Count ? Words[id] : throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token ids are 0 to {Words.Count - 1}.")));
}
