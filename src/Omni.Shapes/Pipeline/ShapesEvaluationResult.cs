using System.Collections.Immutable;
using Omni.Shapes.World;

namespace Omni.Shapes.Pipeline;

/// <summary>The shapes reward of a set of generations: the mean per criterion, and every sample's score in sample order.</summary>
/// <param name="Total">Mean <see cref="ShapesScore.Total"/> over every sample.</param>
/// <param name="Counting">Mean counting score over every sample.</param>
/// <param name="Colour">Mean colour score over every sample.</param>
/// <param name="Shape">Mean shape score over every sample.</param>
/// <param name="Position">
/// Mean position score over the samples of relation prompts only (<paramref name="RelationSamples"/> of them; NaN
/// when there are none): single-group prompts ask for no position, and counting them as 1 would add a constant floor.
/// </param>
/// <param name="Samples">How many images were scored.</param>
/// <param name="RelationSamples">How many of them show a relation prompt.</param>
/// <param name="Scores">Each sample's score, in the order the samples were drawn (what a paired comparison pairs).</param>
public sealed record ShapesEvaluationResult(double Total, double Counting, double Colour, double Shape, double Position,
                                            int Samples, int RelationSamples, ImmutableArray<ShapesScore> Scores)
{
    /// <summary>The means of <paramref name="scores"/> (at least one).</summary>
    /// <exception cref="ArgumentException">No scores.</exception>
    public static ShapesEvaluationResult Of(ImmutableArray<ShapesScore> scores)
    {
        if (scores.IsDefaultOrEmpty) throw new ArgumentException("There are no scores to summarise.", nameof(scores));
        var positions = scores.Where(s => s.Position.HasValue).Select(s => s.Position!.Value).ToArray();
        return new ShapesEvaluationResult(scores.Average(s => s.Total), scores.Average(s => s.Counting), scores.Average(s => s.Colour),
                                          scores.Average(s => s.Shape), positions.Length > 0 ? positions.Average() : double.NaN,
                                          scores.Length, positions.Length, scores);
    }

    /// <summary>Each sample's total, in sample order.</summary>
    public ImmutableArray<double> Totals => [.. Scores.Select(s => s.Total)];

    /// <inheritdoc />
    public override string ToString() =>
        $"reward {Total:F3} (counting {Counting:F3}, colour {Colour:F3}, shape {Shape:F3}, position {Position:F3} over {RelationSamples} relation samples; {Samples} samples)";
}
