namespace Omni.Algebra.Training;

/// <summary>
/// Flow-GRPO's <c>timestep_fraction</c>: of the T recorded steps, train ⌈fraction·T⌉ (at least one), chosen and ordered by
/// a seeded permutation per training step and inner epoch.
/// </summary>
public static class TimestepSelection
{
    /// <summary>The trained columns (indices into the trajectory's T steps) for (step, epoch).</summary>
    /// <exception cref="ArgumentOutOfRangeException">fraction is not in (0, 1] or T &lt; 1.</exception>
    public static int[] Choose(int recordedSteps, double fraction, int step, int epoch, SeedStreams seeds)
    {
        if (fraction is not (> 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"timestep_fraction must be in (0, 1], got {fraction}.");
        if (recordedSteps < 1) throw new ArgumentOutOfRangeException(nameof(recordedSteps), "A trajectory needs at least one recorded step.");
        var count = Math.Max(1, (int)Math.Ceiling(fraction * recordedSteps - 1e-9));
        if (count == recordedSteps) return Enumerable.Range(0, recordedSteps).ToArray();
        var random = new Random(unchecked((int)seeds.For(SeedStreams.Purpose.Timesteps, step, epoch)));
        return Enumerable.Range(0, recordedSteps).OrderBy(_ => random.Next()).Take(count).Order().ToArray();
    }
}
