using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Shapes.World;

/// <summary>
/// The one place the prompt words live: the text of prompts, the parser and the vocabulary all read these
/// tables, so a word cannot be printed that the parser or the tokenizer does not know.
/// </summary>
internal static class PromptGrammar
{
    internal static readonly IReadOnlyList<string> CountWords = ["a", "two", "three"];

    internal static string CountWord(int count) =>
        count is >= 1 and <= ObjectGroup.MaxCount
            ? CountWords[count - 1]
            : throw new ArgumentOutOfRangeException(nameof(count), count, $"A group has 1 to {ObjectGroup.MaxCount} objects.");

    internal static string ColourWord(ShapeColour colour) => colour.ToString().ToLowerInvariant();

    internal static string ShapeWord(ShapeKind shape, int count) =>
        shape.ToString().ToLowerInvariant() + (count == 1 ? "" : "s");

    /// <summary>Every word a prompt can contain, in a fixed order (counts, colours, shapes, relations).</summary>
    internal static IReadOnlyList<string> AllWords { get; } =
        CountWords
            .Concat(ShapeColours.All.Select(ColourWord))
            .Concat(Enum.GetValues<ShapeKind>().SelectMany(s => new[] { ShapeWord(s, 1), ShapeWord(s, 2) }))
            .Concat(Relations.All.SelectMany(r => r.Text().Split(' ')))
            .Distinct()
            .ToArray();

    /// <summary>Lower-cased words of <paramref name="text"/>, any run of whitespace separating them.</summary>
    internal static string[] Words(string text) =>
        text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Parses the words of a prompt (grammar only; the world's own limits are checked by the caller).</summary>
    internal static Either<OmniError, ShapesPrompt> Parse(string text)
    {
        var words = Words(text);
        return from first in Group(words, 0, text)
               from rest in words.Length == 3
                   ? Right<OmniError, ShapesPrompt>(new ShapesPrompt(first))
                   : from relation in RelationAt(words, 3, text)
                     from second in Group(words, 3 + relation.Length, text)
                     from end in End(words, 6 + relation.Length, text)
                     select new ShapesPrompt(first, relation.Value, second)
               select rest;
    }

    private static Either<OmniError, ObjectGroup> Group(string[] words, int at, string text) =>
        from count in Lookup(words, at, text, "a count (a, two, three)", CountWords.Select((w, i) => (w, i + 1)))
        from colour in Lookup(words, at + 1, text, "a colour (red, green, blue, yellow)",
                              ShapeColours.All.Select(c => (ColourWord(c), c)))
        from shape in Shape(words, at + 2, text, count)
        select new ObjectGroup(count, colour, shape);

    private static Either<OmniError, ShapeKind> Shape(string[] words, int at, string text, int count)
    {
        var expected = count == 1 ? "a shape (circle, square, triangle)" : "a plural shape (circles, squares, triangles)";
        return Lookup(words, at, text, expected,
            Enum.GetValues<ShapeKind>().SelectMany(s => new[] { (ShapeWord(s, 1), (s, n: 1)), (ShapeWord(s, 2), (s, n: 2)) }))
            .Bind(found => (found.n == 1) == (count == 1)
                ? Right<OmniError, ShapeKind>(found.s)
                : Left<OmniError, ShapeKind>(OmniError.Invalid(
                    $"The word '{words[at]}' (word {at + 1}) does not agree with '{words[at - 2]}' in \"{text}\"; expected '{ShapeWord(found.s, count)}'.")));
    }

    private static Either<OmniError, (Relation Value, int Length)> RelationAt(string[] words, int at, string text) =>
        Lookup(words, at, text, "a relation (above, below, left of, right of)", Relations.All.Select(r => (r.Text().Split(' ')[0], r)))
            .Bind(relation => relation.Text().Split(' ') is [_, var second]
                ? Lookup(words, at + 1, text, $"'{second}' after '{words[at]}'", [(second, (relation, 2))])
                : Right<OmniError, (Relation, int)>((relation, 1)));

    private static Either<OmniError, Unit> End(string[] words, int at, string text) =>
        at >= words.Length
            ? Right<OmniError, Unit>(unit)
            : Left<OmniError, Unit>(OmniError.Invalid(
                $"Unexpected word '{words[at]}' (word {at + 1}) in \"{text}\": the prompt is already complete."));

    private static Either<OmniError, T> Lookup<T>(string[] words, int at, string text, string expected, IEnumerable<(string Word, T Value)> table)
    {
        if (at >= words.Length)
            return Left<OmniError, T>(OmniError.Invalid(words.Length == 0
                ? $"The prompt \"{text}\" is empty; expected {expected}."
                : $"The prompt \"{text}\" ends after '{words[^1]}'; expected {expected}."));
        foreach (var (word, value) in table)
            if (word == words[at]) return Right<OmniError, T>(value);
        return Left<OmniError, T>(OmniError.Invalid($"Unexpected word '{words[at]}' (word {at + 1}) in \"{text}\"; expected {expected}."));
    }
}
