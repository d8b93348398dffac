using Omni.Algebra.Schedules;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// The mean of paired differences <c>after[i] − before[i]</c> (the same prompt and seed before and after training)
/// with its two-sided Student-t confidence interval.
/// </summary>
/// <param name="Mean">Mean difference.</param>
/// <param name="Lower">Lower end of the interval.</param>
/// <param name="Upper">Upper end of the interval.</param>
/// <param name="StandardError">Standard error of the mean difference (sample standard deviation / √n).</param>
/// <param name="Confidence">The interval's confidence level, e.g. 0.95.</param>
/// <param name="Pairs">How many pairs.</param>
/// <remarks>
/// Pairing removes what the two samples of a pair share (the prompt's difficulty, the seed's layout), which is most of
/// their variance. The pairs are treated as independent: across seeds of one prompt they are, and pooling the prompts'
/// different means into one variance makes the interval wider, not narrower, than one for these prompts would be.
/// </remarks>
public sealed record PairedGain(double Mean, double Lower, double Upper, double StandardError, double Confidence, int Pairs)
{
    /// <summary>The gain of <paramref name="after"/> over <paramref name="before"/>, pair by pair.</summary>
    /// <exception cref="ArgumentException">The lists differ in length, have fewer than two pairs, or the confidence is not in (0, 1).</exception>
    public static PairedGain Of(IReadOnlyList<double> before, IReadOnlyList<double> after, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.Count != after.Count)
            throw new ArgumentException($"A paired gain needs one 'after' per 'before'; got {before.Count} and {after.Count}.", nameof(after));
        if (before.Count < 2) throw new ArgumentException($"A paired interval needs at least two pairs; got {before.Count}.", nameof(before));
        if (!(confidence is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "A confidence level lies in (0, 1).");
        var n = before.Count;
        var differences = Enumerable.Range(0, n).Select(i => after[i] - before[i]).ToArray();
        var mean = differences.Average();
        var variance = differences.Sum(d => (d - mean) * (d - mean)) / (n - 1);
        var standardError = Math.Sqrt(variance / n);
        var half = StudentQuantile(confidence, n - 1) * standardError;
        return new PairedGain(mean, mean - half, mean + half, standardError, confidence, n);
    }

    /// <summary>
    /// The two-sided quantile t with P(|T| ≤ t) = <paramref name="confidence"/> for Student's t with
    /// <paramref name="degreesOfFreedom"/>: P(|T| &gt; t) = I_x(ν/2, 1/2) at x = ν / (ν + t²).
    /// </summary>
    public static double StudentQuantile(double confidence, int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degreesOfFreedom, 1);
        var x = BetaDistribution.Quantile(1 - confidence, degreesOfFreedom / 2.0, 0.5);
        return Math.Sqrt(degreesOfFreedom * (1 - x) / x);
    }

    /// <summary>Whether the whole interval lies above <paramref name="threshold"/>.</summary>
    public bool IsAbove(double threshold) => Lower > threshold;

    /// <summary>Whether <paramref name="value"/> lies inside the interval.</summary>
    public bool Contains(double value) => value >= Lower && value <= Upper;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Mean:+0.000;-0.000;0.000} ({Confidence:P0} CI {Lower:+0.000;-0.000;0.000} to {Upper:+0.000;-0.000;0.000}, paired over {Pairs} samples)";
}
