using Omni.Algebra.Training;

namespace Omni.Tests.Behaviour.Training;

/// <summary>MixGRPO window placement, with draws checked against CPython's <c>random.Random</c> (values printed by CPython 3).</summary>
public sealed class WindowScheduleTests
{
    [Theory]
    [InlineData(0L, 0.8444218515250481)]
    [InlineData(1L, 0.13436424411240122)]
    [InlineData(42L, 0.6394267984578837)]
    [InlineData(12345L, 0.41661987254534116)]
    [InlineData(1099511627783L, 0.6137037779936511)]
    [InlineData(-5L, 0.6229016948897019)]
    public void Python_random_matches_CPython(long seed, double expected) =>
        Assert.Equal(expected, PythonRandom.Seeded(seed).NextDouble().Value);

    [Theory]
    [InlineData(0L, new[] { 1, 3, 3, 6, 49 })]
    [InlineData(42L, new[] { 0, 0, 5, 1, 81 })]
    [InlineData(1099511627783L, new[] { 1, 3, 4, 9, 78 })]
    public void Python_randint_matches_CPython(long seed, int[] expected)
    {
        int[] highs = [1, 3, 5, 9, 100];
        Assert.Equal(expected, highs.Select(h => PythonRandom.Seeded(seed).RandInt(0, h).Value).ToArray());
    }

    [Fact]
    public void Random_windows_follow_the_reference_seeding()
    {
        // random.Random(0 + g).randint(0, 3) for g = 0..11, i.e. window size 2 in range (0, 5).
        int[] expected = [3, 1, 0, 1, 1, 2, 0, 2, 1, 3, 0, 3];
        var schedule = new WindowSchedule(WindowStrategy.Random, Size: 2, RangeStart: 0, RangeEnd: 5, Seed: 0);
        var starts = Enumerable.Range(0, 12).Select(g => schedule.At(g, 10).Match(w => w.Start, e => throw new Exception(e.Message))).ToArray();
        Assert.Equal(expected, starts);
        Assert.All(Enumerable.Range(0, 12), g => Assert.Equal(2, schedule.At(g, 10).Match(w => w.Length, _ => -1)));
    }

    [Fact]
    public void Progressive_windows_advance_by_their_size_and_clamp()
    {
        var schedule = new WindowSchedule(WindowStrategy.Progressive, Size: 2, RangeStart: 0, RangeEnd: 7, IterationsPerGroup: 2);
        var starts = Enumerable.Range(0, 10).Select(g => schedule.At(g, 10).Match(w => w.Start, _ => -1)).ToArray();
        Assert.Equal([0, 0, 2, 2, 4, 4, 5, 5, 5, 5], starts);
    }

    [Fact]
    public void A_window_that_does_not_fit_is_an_error_with_the_reference_message()
    {
        var schedule = new WindowSchedule(WindowStrategy.Random, Size: 4, RangeStart: 2, RangeEnd: 5);
        var message = schedule.At(0, 10).Match(_ => "", e => e.Message);
        Assert.Equal("MixGRPO random window does not fit: sde_window_range=[2, 5], sde_window_size=4.", message);
    }

    [Fact]
    public void The_full_window_covers_all_but_the_last_step() =>
        Assert.Equal((0, 9), WindowSchedule.Full.At(3, 10).Match(w => (w.Start, w.End), _ => (-1, -1)));

    [Fact]
    public void Learning_rate_schedules_warm_up_and_decay()
    {
        var cosine = new LearningRateSchedule(1.0, LearningRateShape.Cosine, WarmupSteps: 2, MinRatio: 0.1);
        Assert.Equal(0.5, cosine.At(0, 12), 12);
        Assert.Equal(1.0, cosine.At(1, 12), 12);
        Assert.Equal(1.0, cosine.At(2, 12), 12);
        Assert.Equal(0.55, cosine.At(7, 12), 12);
        Assert.Equal(0.1, cosine.At(12, 12), 12);
        Assert.Equal(0.3, new LearningRateSchedule(0.3).At(100, 10));
    }

    [Fact]
    public void Timestep_fraction_trains_a_seeded_subset()
    {
        var seeds = new SeedStreams(3);
        var chosen = TimestepSelection.Choose(10, 0.3, step: 4, epoch: 0, seeds);
        Assert.Equal(3, chosen.Length);
        Assert.Equal(chosen, TimestepSelection.Choose(10, 0.3, 4, 0, seeds));
        Assert.Equal(Enumerable.Range(0, 10), TimestepSelection.Choose(10, 1.0, 4, 0, seeds));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimestepSelection.Choose(10, 0, 4, 0, seeds));
    }

    [Fact]
    public void Prompts_are_walked_epoch_by_epoch()
    {
        var seeds = new SeedStreams(9);
        var firstEpoch = Enumerable.Range(0, 5).SelectMany(s => PromptSchedule.IndicesFor(s, 2, 10, seeds)).ToArray();
        Assert.Equal(Enumerable.Range(0, 10), firstEpoch.Order());
        Assert.Equal(firstEpoch, Enumerable.Range(0, 5).SelectMany(s => PromptSchedule.IndicesFor(s, 2, 10, seeds)));
        Assert.Throws<ArgumentOutOfRangeException>(() => PromptSchedule.IndicesFor(0, 2, 0, seeds));
    }
}
