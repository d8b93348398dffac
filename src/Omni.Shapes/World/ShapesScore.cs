namespace Omni.Shapes.World;

/// <summary>How well an image shows a prompt; every criterion is in [0, 1], 1 being perfect.</summary>
/// <param name="Total">Mean of the applicable criteria: counting, colour and shape, plus position for relation prompts.</param>
/// <param name="Counting">Per group, 1 − |found − asked| / asked (at least 0), averaged over the groups.</param>
/// <param name="Colour">Share of the objects found whose colour the prompt asks for (0 when nothing is found).</param>
/// <param name="Shape">Share of the objects of a requested colour that have the shape asked for in that colour.</param>
/// <param name="Position">
/// For relation prompts, 1 if the groups' centroids stand in the relation, else 0; null for single-group prompts,
/// which ask for no position (so a mean of positions is a mean over relation prompts only).
/// </param>
public sealed record ShapesScore(double Total, double Counting, double Colour, double Shape, double? Position);
