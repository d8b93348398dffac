using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Shapes.World;

/// <summary>
/// A prompt of the shapes world: one group of objects ("three yellow squares"), or two groups in a spatial
/// relation ("two red circles above a blue square"). <see cref="Relation"/> and <see cref="Second"/> are both
/// present or both absent.
/// </summary>
/// <param name="First">The first (or only) group.</param>
/// <param name="Relation">Where <paramref name="First"/> is relative to <paramref name="Second"/>; null for a single group.</param>
/// <param name="Second">The reference group; null for a single group.</param>
public sealed record ShapesPrompt(ObjectGroup First, Relation? Relation = null, ObjectGroup? Second = null)
{
    /// <summary>The most objects a two-group prompt may ask for, so every layout fits a 32×32 image with room to spare.</summary>
    public const int MaxObjects = 4;

    /// <summary>The groups of the prompt, first group first.</summary>
    public IReadOnlyList<ObjectGroup> Groups => Second is null ? [First] : [First, Second];

    /// <summary>Total number of objects the prompt asks for.</summary>
    public int ObjectCount => First.Count + (Second?.Count ?? 0);

    /// <summary>The prompt text, e.g. "two red circles above a blue square"; <see cref="Parse"/> reads it back.</summary>
    public string Text => Relation is { } relation && Second is { } second
        ? $"{First.Text} {relation.Text()} {second.Text}"
        : First.Text;

    /// <inheritdoc />
    public override string ToString() => Text;

    /// <summary>
    /// Reads a prompt (case-insensitive, any whitespace between words); the result is in the world: counts 1 to 3,
    /// at most <see cref="MaxObjects"/> objects, two groups differing in colour or shape. The error names the
    /// offending word or limit.
    /// </summary>
    public static Either<OmniError, ShapesPrompt> Parse(string text) =>
        text is null
            ? Left<OmniError, ShapesPrompt>(new OmniError(ErrorKind.MissingArgument, "The prompt text is null."))
            : PromptGrammar.Parse(text).Bind(prompt => prompt.Validate());

    /// <summary>This prompt if it lies in the world (see <see cref="Parse"/>), otherwise the broken rule.</summary>
    public Either<OmniError, ShapesPrompt> Validate()
    {
        if ((Relation is null) != (Second is null))
            return Left<OmniError, ShapesPrompt>(OmniError.Invalid(
                $"A prompt needs both a relation and a second group or neither; got relation {Relation?.ToString() ?? "null"} and second group {Second?.Text ?? "null"}."));
        if (Groups.FirstOrDefault(g => g.Count is < 1 or > ObjectGroup.MaxCount) is { } bad)
            return Left<OmniError, ShapesPrompt>(OmniError.Invalid($"A group has 1 to {ObjectGroup.MaxCount} objects; got {bad.Count}."));
        if (Second is not null && ObjectCount > MaxObjects)
            return Left<OmniError, ShapesPrompt>(OmniError.Invalid(
                $"\"{Text}\" asks for {ObjectCount} objects; a two-group prompt has at most {MaxObjects}."));
        if (Second is { } other && other.Colour == First.Colour && other.Shape == First.Shape)
            return Left<OmniError, ShapesPrompt>(OmniError.Invalid(
                $"\"{Text}\" relates two groups of the same colour and shape; they must differ in one of them to be told apart."));
        return Right<OmniError, ShapesPrompt>(this);
    }
}
