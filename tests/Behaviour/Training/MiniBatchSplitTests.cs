using Omni.Algebra.Training;
using Omni.Training.Options;

namespace Omni.Tests.Behaviour.Training;

/// <summary>
/// Several optimizer updates per rollout take whole micro-batches: a split that does not divide is refused with the
/// numbers involved and the settings that would fix it.
/// </summary>
public sealed class MiniBatchSplitTests
{
    [Fact]
    public void One_micro_batch_cannot_feed_four_updates_and_the_message_names_the_micro_batch_size_that_would()
    {
        var options = new TrainingOptions { PromptsPerStep = 32, GroupSize = 4, MicroBatchSize = 128, MiniBatchesPerEpoch = 4 };
        var message = Assert.Single(TrainingOptionsRules.Validate(options).Match(_ => [], e => e.Select(x => x.Message).ToList()));
        Assert.Contains("The 1 micro-batches per step must split evenly into MiniBatchesPerEpoch (4)", message);
        Assert.Contains("Set MicroBatchSize to a divisor of 32", message);
        Assert.True(TrainingOptionsRules.Validate(options with { MicroBatchSize = 32 }).IsSuccess);
        Assert.True(TrainingOptionsRules.Validate(options with { MicroBatchSize = 16 }).IsSuccess);
    }

    [Fact]
    public void Each_rank_s_share_is_checked_the_same_way()
    {
        var refused = RankShare.Of(rank: 0, worldSize: 2, promptsPerStep: 4, groupSize: 2, microBatchSize: 4, miniBatchesPerEpoch: 2);
        var message = Assert.Single(refused.Match(_ => [], e => e.Select(x => x.Message).ToList()));
        Assert.Contains("each of the 2 ranks rolls out 4 samples", message);
        Assert.Contains("MiniBatchesPerEpoch to a divisor of 1", message);
        Assert.True(RankShare.Of(rank: 0, worldSize: 2, promptsPerStep: 4, groupSize: 2, microBatchSize: 2, miniBatchesPerEpoch: 2).IsSuccess);
    }
}
