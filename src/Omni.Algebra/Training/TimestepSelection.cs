namespace Omni.Algebra.Training;

/// <summary>
/// Flow-GRPO's <c>timestep_fraction</c>: of the T recorded steps, train ⌊fraction·T⌋ (the reference's <c>int(T·fraction)</c>,
/// but at least one), chosen by a seeded permutation per training step and inner epoch. One subset serves the whole batch
/// (flow_grpo draws one permutation per sample; a shared subset keeps every micro-step a full batch).
/// </summary>
public static class TimestepSelection
{
    /// <summary>The trained columns (indices into the trajectory's T steps) for (step, epoch).</summary>
    /// <exception cref="ArgumentOutOfRangeException">fraction is not in (0, 1] or T &lt; 1.</exception>
    public static int[] Choose(int recordedSteps, double fraction, int step, int epoch, SeedStreams seeds)
    {
        if (fraction is not (> 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"timestep_fraction must be in (0, 1], got {fraction}.");
        if (recordedSteps < 1) throw new ArgumentOutOfRangeException(nameof(recordedSteps), "A trajectory needs at least one recorded step.");
        var count = Math.Max(1, (int)Math.Floor(fraction * recordedSteps + 1e-9));
        if (count == recordedSteps) return Enumerable.Range(0, recordedSteps).ToArray();
        return seeds.Permutation(SeedStreams.Purpose.Timesteps, step, epoch, recordedSteps).Take(count).Order().ToArray();
    }
}
