namespace Omni.Rewards;

/// <summary>
/// A reward could not produce valid scores: a component returned the wrong number of scores or a non-finite one, or a
/// remote scorer failed. The message names the reward and, where one is to blame, the sample.
/// </summary>
public sealed class RewardException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="rewardName">The reward at fault.</param>
    /// <param name="message">What went wrong, already naming the reward.</param>
    /// <param name="sampleIndex">The sample at fault, where one is.</param>
    /// <param name="inner">The underlying failure, if any.</param>
    public RewardException(string rewardName, string message, int? sampleIndex = null, Exception? inner = null)
        : base(message, inner)
    {
        RewardName = rewardName;
        SampleIndex = sampleIndex;
    }

    /// <summary>The name of the reward at fault.</summary>
    public string RewardName { get; }

    /// <summary>The index (in the scored batch) of the sample at fault, where one is.</summary>
    public int? SampleIndex { get; }
}
