using System.Collections.Immutable;

namespace Omni.Training.Update;

/// <summary>What one step's policy update did.</summary>
/// <param name="Metrics">Loss metrics averaged over micro-steps, grad norm, learning rate, first ratio.</param>
/// <param name="SkipReason">Why an update was skipped (weights untouched by it), or null.</param>
/// <param name="OptimizerUpdates">Optimizer steps taken.</param>
public sealed record UpdateOutcome(ImmutableDictionary<string, double> Metrics, string? SkipReason, int OptimizerUpdates);
