using Omni.Algebra.Rewards;

namespace Omni.Rewards;

/// <summary>One component of a <see cref="MultiReward"/>: a reward and the weight its scores enter the total with.</summary>
/// <param name="Reward">The component reward.</param>
/// <param name="Weight">Its weight (finite; negative weights make penalties).</param>
public sealed record WeightedReward(RewardFunction Reward, double Weight);
