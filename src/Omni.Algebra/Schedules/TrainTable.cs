using System.Collections.Immutable;

namespace Omni.Algebra.Schedules;

/// <summary>
/// The table the reference scheduler builds in its constructor: N sigmas (no terminal value) from
/// 1 down to 1/N, statically shifted unless dynamic shifting is on, all in float32. Its ends
/// (<see cref="SigmaMax"/>, <see cref="SigmaMin"/>) anchor the default inference schedule, and the
/// untouched table is what forward-process objectives (DPO) sample timesteps from.
/// </summary>
/// <param name="Sigmas">N float32 sigmas, largest first.</param>
/// <param name="Timesteps">N float32 timesteps, <c>σ·N</c>.</param>
public sealed record TrainTable(ImmutableArray<float> Sigmas, ImmutableArray<float> Timesteps)
{
    /// <summary>The first sigma, as the Python float the reference reads with <c>.item()</c>.</summary>
    public double SigmaMax => Sigmas[0];

    /// <summary>The last sigma, as the Python float the reference reads with <c>.item()</c>.</summary>
    public double SigmaMin => Sigmas[^1];

    /// <summary>Builds the table for a configuration (float32 arithmetic, operation order of the reference).</summary>
    public static TrainTable For(SchedulerConfig config)
    {
        var n = config.NumTrainTimesteps;
        var sigmas = new float[n];
        var timesteps = new float[n];
        for (var k = 0; k < n; k++)
        {
            var sigma = (float)(n - k) / n;
            if (!config.UseDynamicShifting) sigma = Shifts.Static(config.Shift, sigma);
            sigmas[k] = sigma;
            timesteps[k] = sigma * n;
        }
        return new TrainTable([.. sigmas], [.. timesteps]);
    }
}
