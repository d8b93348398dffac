using System.Collections.Immutable;

namespace Omni.Algebra.Rewards;

/// <summary>The combined score of each sample and every component reward's scores (for logging).</summary>
/// <param name="Total">Weighted sum of the components, one per sample.</param>
/// <param name="Components">Each component's raw scores by reward name.</param>
public sealed record RewardEvaluation(float[] Total, ImmutableDictionary<string, float[]> Components);
