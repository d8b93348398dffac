namespace Omni.Shapes.World;

/// <summary>One noun phrase of a prompt: <paramref name="Count"/> objects of one colour and shape.</summary>
/// <param name="Count">How many objects, 1 to 3.</param>
/// <param name="Colour">Their colour.</param>
/// <param name="Shape">Their shape.</param>
public sealed record ObjectGroup(int Count, ShapeColour Colour, ShapeKind Shape)
{
    /// <summary>The largest count the grammar can say.</summary>
    public const int MaxCount = 3;

    /// <summary>The phrase, e.g. "a red circle" or "three blue triangles".</summary>
    public string Text => $"{PromptGrammar.CountWord(Count)} {PromptGrammar.ColourWord(Colour)} {PromptGrammar.ShapeWord(Shape, Count)}";

    /// <inheritdoc />
    public override string ToString() => Text;
}
