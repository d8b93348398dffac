namespace Omni.Algebra.Schedules;

/// <summary>
/// NumPy's float64 <c>linspace</c>, reproduced operation for operation: the reference builds its
/// default schedule with it, and <c>torch.linspace</c> rounds differently.
/// </summary>
public static class NumpyMath
{
    /// <summary><c>np.linspace(start, stop, count)</c> with <c>endpoint=True</c>, in float64.</summary>
    public static double[] Linspace(double start, double stop, int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "linspace needs a non-negative count.");
        var result = new double[count];
        if (count == 0) return result;
        var div = count - 1;
        var delta = stop - start;
        if (div == 0)
        {
            result[0] = start;
            return result;
        }
        var step = delta / div;
        for (var i = 0; i < count; i++)
            // NumPy multiplies by the step (or divides then scales when the step underflows to zero), then adds the start.
            result[i] = (step == 0 ? i / (double)div * delta : i * step) + start;
        result[count - 1] = stop;
        return result;
    }
}
