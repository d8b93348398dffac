using System.Globalization;
using Omni.Algebra.Rewards;

namespace Omni.Rewards;

/// <summary>The contract every reward's output must meet before it reaches an objective: one finite score per sample.</summary>
public static class ScoreValidation
{
    /// <summary>Returns <paramref name="scores"/> when it holds exactly <paramref name="expectedCount"/> finite values.</summary>
    /// <exception cref="RewardException">The count is wrong, or a score is NaN or infinite (the first is named).</exception>
    public static float[] Check(string rewardName, float[]? scores, int expectedCount)
    {
        if (scores is null)
            throw new RewardException(rewardName, $"Reward '{rewardName}' returned no scores (null) for a batch of {expectedCount} samples.");
        if (scores.Length != expectedCount)
            throw new RewardException(rewardName,
                $"Reward '{rewardName}' returned {scores.Length} scores for a batch of {expectedCount} samples; it must return one per sample.");
        for (var i = 0; i < scores.Length; i++)
            if (!float.IsFinite(scores[i]))
                throw new RewardException(rewardName,
                    $"Reward '{rewardName}' returned {scores[i].ToString(CultureInfo.InvariantCulture)} for sample {i}; scores must be finite.", i);
        return scores;
    }

    /// <summary>Scores <paramref name="batch"/> with <paramref name="reward"/> and checks the result.</summary>
    /// <exception cref="RewardException">The reward failed or broke the contract; its own exception is the inner one.</exception>
    public static async Task<float[]> ScoreChecked(RewardFunction reward, RewardBatch batch, CancellationToken cancellation)
    {
        float[] scores;
        try
        {
            scores = await reward.Score(batch, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RewardException and not OperationCanceledException)
        {
            throw new RewardException(reward.Name, $"Reward '{reward.Name}' failed: {e.Message}", inner: e);
        }
        return Check(reward.Name, scores, batch.Count);
    }
}
