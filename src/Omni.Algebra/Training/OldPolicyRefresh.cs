using System.Collections.Immutable;

namespace Omni.Algebra.Training;

/// <summary>
/// DiffusionNFT's rule for the old (sampling) policy (the reference's <c>old_policy_decay</c> and <c>_update_old_policy</c>):
/// every <c>old_policy_update_interval</c> training steps the old weights become <c>d·old + (1 − d)·current</c>, a hard copy
/// when <c>d = 0</c>; d is <c>old_policy_decay</c> if set, else the named schedule's
/// <c>0 if step &lt; warmup else min((step − warmup)·rate, max)</c>.
/// </summary>
public static class OldPolicyRefresh
{
    /// <summary>The named schedules as (warm-up steps, ramp per step, maximum decay).</summary>
    public static ImmutableSortedDictionary<string, (int Warmup, double Rate, double Max)> Schedules { get; } =
        ImmutableSortedDictionary<string, (int, double, double)>.Empty
            .Add("copy", (0, 0.0, 0.0))
            .Add("linear_to_0_5", (0, 0.001, 0.5))
            .Add("delayed_linear_to_0_999", (75, 0.0075, 0.999));

    /// <summary>The decay d after training step <paramref name="globalStep"/> (1-based, as the reference counts), or null when no refresh is due.</summary>
    /// <exception cref="ArgumentException">An unknown schedule name.</exception>
    public static double? DecayAt(int globalStep, int interval, double? fixedDecay, string schedule)
    {
        if (globalStep % Math.Max(1, interval) != 0) return null;
        if (fixedDecay is { } d) return d;
        if (!Schedules.TryGetValue(schedule, out var s))
            throw new ArgumentException($"Unsupported old_policy_decay_schedule: {schedule}", nameof(schedule));
        return globalStep < s.Warmup ? 0.0 : Math.Min((globalStep - s.Warmup) * s.Rate, s.Max);
    }
}
