namespace Omni.Algebra.Schedules;

/// <summary>
/// The sigma transformations of the flow-matching schedule. Each has a float64 form (the reference's
/// default path, which computes in NumPy float64) and a float32 form (its custom-sigmas path, where
/// NumPy keeps float32 arrays and rounds Python scalars to float32 first).
/// </summary>
public static class Shifts
{
    /// <summary>
    /// diffusers' <c>calculate_shift</c>: the affine map from image sequence length to <c>mu</c>
    /// (float64, no clamping — it extrapolates beyond <paramref name="maxSeqLen"/>).
    /// </summary>
    public static double CalculateShift(double imageSeqLen, double baseSeqLen = 256, double maxSeqLen = 4096,
                                        double baseShift = 0.5, double maxShift = 1.15)
    {
        var m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
        var b = baseShift - m * baseSeqLen;
        return imageSeqLen * m + b;
    }

    /// <summary>Static shift <c>s·σ / (1 + (s − 1)·σ)</c> in float64.</summary>
    public static double Static(double shift, double sigma) => shift * sigma / (1 + (shift - 1) * sigma);

    /// <summary>Static shift in float32, with the shift and <c>shift − 1</c> rounded to float32 as NumPy/torch do.</summary>
    public static float Static(double shift, float sigma)
    {
        var s = (float)shift;
        var sMinusOne = (float)(shift - 1);
        return s * sigma / (1f + sMinusOne * sigma);
    }

    /// <summary>Dynamic time shift with exponent 1 (what <c>set_timesteps</c> uses), float64.</summary>
    public static double Time(TimeShiftType type, double mu, double sigma) => type switch
    {
        TimeShiftType.Exponential => Math.Exp(mu) / (Math.Exp(mu) + (1 / sigma - 1)),
        _ => mu / (mu + (1 / sigma - 1)),
    };

    /// <summary>Dynamic time shift with exponent 1, float32 (the coefficient rounded to float32 first).</summary>
    public static float Time(TimeShiftType type, double mu, float sigma)
    {
        var c = type == TimeShiftType.Exponential ? (float)Math.Exp(mu) : (float)mu;
        return c / (c + (1f / sigma - 1f));
    }

    /// <summary>Stretches a float64 schedule so that its last value becomes <paramref name="shiftTerminal"/>.</summary>
    public static double[] StretchToTerminal(double[] sigmas, double shiftTerminal)
    {
        var scale = (1 - sigmas[^1]) / (1 - shiftTerminal);
        return sigmas.Select(s => 1 - (1 - s) / scale).ToArray();
    }

    /// <summary>Float32 stretch (NumPy 2 semantics: the Python scalar is rounded to float32 before the division).</summary>
    public static float[] StretchToTerminal(float[] sigmas, double shiftTerminal)
    {
        var scale = (1f - sigmas[^1]) / (float)(1 - shiftTerminal);
        return sigmas.Select(s => 1f - (1f - s) / scale).ToArray();
    }
}
