using Omni.Algebra.Rewards;
using Omni.Rewards;

namespace Omni.Tests.Behaviour.Rewards;

public sealed class MultiRewardTests
{
    private static readonly RewardBatch Batch = RewardBatch.Of(
        [TestImages.Flat(4, 4, 0, 0, 0), TestImages.Flat(4, 4, 255, 255, 255), TestImages.Flat(4, 4, 51, 51, 51)], ["a", "b", "c"]);

    private static RewardFunction Constant(string name, params float[] scores) => new(name, (_, _) => Task.FromResult(scores));

    [Fact]
    public async Task Total_is_the_weighted_sum_and_components_are_kept()
    {
        var multi = MultiReward.Combine((Constant("a", 1, 2, 3), 2.0), (Constant("b", 10, 20, 30), -0.5));
        var result = await multi.Evaluate(Batch);
        Assert.Equal([-3f, -6f, -9f], result.Total);
        Assert.Equal([1f, 2f, 3f], result.Components["a"]);
        Assert.Equal([10f, 20f, 30f], result.Components["b"]);
    }

    [Fact]
    public async Task Components_run_concurrently()
    {
        var bothStarted = new TaskCompletionSource();
        var started = 0;
        RewardFunction Waiting(string name) => new(name, async (batch, ct) =>
        {
            if (Interlocked.Increment(ref started) == 2) bothStarted.SetResult();
            await bothStarted.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            return new float[batch.Count];
        });
        var result = await MultiReward.Combine((Waiting("x"), 1.0), (Waiting("y"), 1.0)).Evaluate(Batch);
        Assert.Equal(3, result.Total.Length);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public async Task A_non_finite_score_names_the_reward_and_sample(float bad, string shown)
    {
        var multi = MultiReward.Combine((Constant("fine", 1, 2, 3), 1.0), (Constant("broken", 1, bad, 3), 1.0));
        var e = await Assert.ThrowsAsync<RewardException>(() => multi.Evaluate(Batch));
        Assert.Equal("broken", e.RewardName);
        Assert.Equal(1, e.SampleIndex);
        Assert.Contains("'broken'", e.Message);
        Assert.Contains("sample 1", e.Message);
        Assert.Contains(shown, e.Message);
    }

    [Fact]
    public async Task A_wrong_count_names_the_reward_and_both_counts()
    {
        var multi = MultiReward.Combine((Constant("short", 1, 2), 1.0));
        var e = await Assert.ThrowsAsync<RewardException>(() => multi.Evaluate(Batch));
        Assert.Contains("'short' returned 2 scores for a batch of 3", e.Message);
    }

    [Fact]
    public async Task A_throwing_reward_is_wrapped_with_its_name()
    {
        var multi = MultiReward.Combine((new RewardFunction("boom", (_, _) => throw new InvalidOperationException("model missing")), 1.0));
        var e = await Assert.ThrowsAsync<RewardException>(() => multi.Evaluate(Batch));
        Assert.Contains("'boom' failed: model missing", e.Message);
        Assert.IsType<InvalidOperationException>(e.InnerException);
    }

    [Fact]
    public void Invalid_combinations_are_rejected_with_every_problem()
    {
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => MultiReward.Combine()).Message);
        var e = Assert.Throws<ArgumentException>(() => MultiReward.Combine((Constant("a", 1), double.NaN), (Constant("a", 1), 1.0)));
        Assert.Contains("weight NaN", e.Message);
        Assert.Contains("'a' is used more than once", e.Message);
        Assert.Contains("every weight is zero", Assert.Throws<ArgumentException>(
            () => MultiReward.Combine((Constant("a", 1), 0.0), (Constant("b", 1), -0.0))).Message);
    }

    [Fact]
    public async Task Start_returns_before_scoring_ends_and_surfaces_results_and_failures_on_await()
    {
        var release = new TaskCompletionSource();
        var slow = new RewardFunction("slow", async (batch, ct) => { await release.Task.WaitAsync(ct); return [1f, 2f, 3f]; });
        var pending = MultiReward.Combine((slow, 1.0)).Start(Batch);
        Assert.False(pending.IsCompleted);
        release.SetResult();
        var evaluation = await pending;
        Assert.Equal([1f, 2f, 3f], evaluation.Total);

        var failing = MultiReward.Combine((Constant("bad", float.NaN, 0, 0), 1.0)).Start(Batch);
        await Assert.ThrowsAsync<RewardException>(async () => await failing);
    }

    [Fact]
    public async Task Start_honours_cancellation()
    {
        using var cancel = new CancellationTokenSource();
        var never = new RewardFunction("never", async (batch, ct) => { await Task.Delay(Timeout.Infinite, ct); return new float[batch.Count]; });
        var pending = MultiReward.Combine((never, 1.0)).Start(Batch, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
    }
}
