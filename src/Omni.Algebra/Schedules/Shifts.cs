using System.Numerics;

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

    /// <summary>
    /// Static shift <c>s·σ / (1 + (s − 1)·σ)</c> in the precision of <typeparamref name="T"/>; the Python
    /// scalars <c>s</c> and <c>s − 1</c> are rounded to that precision first, as NumPy and torch do.
    /// </summary>
    public static T Static<T>(double shift, T sigma) where T : IFloatingPointIeee754<T>
    {
        var s = T.CreateChecked(shift);
        var sMinusOne = T.CreateChecked(shift - 1);
        return s * sigma / (T.One + sMinusOne * sigma);
    }

    /// <summary>
    /// Dynamic time shift with exponent 1 (what <c>set_timesteps</c> uses): <c>c / (c + (1/σ − 1))</c> with
    /// <c>c = e^μ</c> (exponential) or <c>μ</c> (linear), rounded to the precision of <typeparamref name="T"/>.
    /// </summary>
    public static T Time<T>(TimeShiftType type, double mu, T sigma) where T : IFloatingPointIeee754<T>
    {
        var c = T.CreateChecked(type == TimeShiftType.Exponential ? Math.Exp(mu) : mu);
        return c / (c + (T.One / sigma - T.One));
    }

    /// <summary>
    /// Stretches a schedule so that its last value becomes <paramref name="shiftTerminal"/>:
    /// <c>1 − (1 − σ)/c</c> with <c>c = (1 − σ_last)/(1 − shift_terminal)</c> (NumPy 2 semantics on float32:
    /// the Python scalar is rounded to float32 before the division).
    /// </summary>
    public static T[] StretchToTerminal<T>(T[] sigmas, double shiftTerminal) where T : IFloatingPointIeee754<T>
    {
        var scale = (T.One - sigmas[^1]) / T.CreateChecked(1 - shiftTerminal);
        return sigmas.Select(s => T.One - (T.One - s) / scale).ToArray();
    }
}
