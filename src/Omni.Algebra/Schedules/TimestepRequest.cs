using System.Collections.Immutable;

namespace Omni.Algebra.Schedules;

/// <summary>
/// The arguments of the reference's <c>set_timesteps</c>: a number of inference steps, explicit
/// sigmas, or explicit timesteps, plus <c>mu</c> for dynamic shifting. Use the factory methods.
/// </summary>
/// <param name="NumInferenceSteps">The number of steps, or null to take it from the explicit list.</param>
/// <param name="Sigmas">Explicit sigmas (float64 values, rounded to float32 like the reference).</param>
/// <param name="Timesteps">Explicit timesteps on the 0–N scale.</param>
/// <param name="Mu">The dynamic-shifting parameter; required when the configuration shifts dynamically.</param>
public sealed record TimestepRequest(
    int? NumInferenceSteps = null,
    ImmutableArray<double>? Sigmas = null,
    ImmutableArray<double>? Timesteps = null,
    double? Mu = null)
{
    /// <summary>A default schedule of <paramref name="numInferenceSteps"/> steps.</summary>
    public static TimestepRequest Steps(int numInferenceSteps, double? mu = null) => new(numInferenceSteps, Mu: mu);

    /// <summary>A schedule from explicit sigmas (the Qwen-Image pipelines pass <c>linspace(1, 1/n, n)</c>).</summary>
    public static TimestepRequest FromSigmas(IEnumerable<double> sigmas, double? mu = null) => new(Sigmas: [.. sigmas], Mu: mu);

    /// <summary>A schedule from explicit timesteps (divided by N, then shifted like sigmas).</summary>
    public static TimestepRequest FromTimesteps(IEnumerable<double> timesteps, double? mu = null) => new(Timesteps: [.. timesteps], Mu: mu);

    /// <summary>The Qwen-Image pipelines' sigmas: <c>np.linspace(1, 1/n, n)</c>.</summary>
    public static ImmutableArray<double> QwenImageSigmas(int numInferenceSteps) => [.. NumpyMath.Linspace(1.0, 1.0 / numInferenceSteps, numInferenceSteps)];
}
