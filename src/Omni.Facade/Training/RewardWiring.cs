using System.Collections.Immutable;
using Omni.Algebra.Rewards;

namespace Omni.Facade.Training;

/// <summary>Turns weighted rewards into the trainer's scoring function.</summary>
public static class RewardWiring
{
    /// <summary>Scores every component concurrently and sums them with their weights; non-finite scores reach the trainer, which skips the update and says why.</summary>
    public static Func<RewardBatch, CancellationToken, Task<RewardEvaluation>> Combine(IReadOnlyList<(RewardFunction Reward, double Weight)> rewards) =>
        async (batch, cancellation) =>
        {
            var scores = await Task.WhenAll(rewards.Select(r => r.Reward.Score(batch, cancellation))).ConfigureAwait(false);
            for (var k = 0; k < scores.Length; k++)
                if (scores[k].Length != batch.Count)
                    throw new InvalidOperationException($"Reward '{rewards[k].Reward.Name}' returned {scores[k].Length} scores for {batch.Count} images.");
            var total = new float[batch.Count];
            for (var k = 0; k < scores.Length; k++)
                for (var i = 0; i < total.Length; i++) total[i] += (float)(rewards[k].Weight * scores[k][i]);
            return new RewardEvaluation(total, rewards.Select((r, k) => (r.Reward.Name, scores[k]))
                .GroupBy(p => p.Name).ToImmutableDictionary(g => g.Key, g => g.First().Item2));
        };
}
