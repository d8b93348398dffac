namespace Omni.Algebra.Schedules;

/// <summary>
/// The Beta distribution's CDF (the regularized incomplete beta function) and its inverse, to about
/// 1e-14 — enough for schedules that are rounded to float32 (the reference uses scipy's <c>beta.ppf</c>).
/// </summary>
public static class BetaDistribution
{
    /// <summary>The regularized incomplete beta function <c>I_x(a, b)</c>.</summary>
    public static double Cdf(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        var logFront = a * Math.Log(x) + b * Math.Log(1 - x) - LogBeta(a, b);
        // The continued fraction converges fast only below the mean; use the symmetry relation above it.
        return x < (a + 1) / (a + b + 2)
            ? Math.Exp(logFront) * ContinuedFraction(x, a, b) / a
            : 1 - Math.Exp(logFront) * ContinuedFraction(1 - x, b, a) / b;
    }

    /// <summary>The density <c>x^(a−1)(1−x)^(b−1)/B(a, b)</c>.</summary>
    public static double Pdf(double x, double a, double b) =>
        x is <= 0 or >= 1 ? 0 : Math.Exp((a - 1) * Math.Log(x) + (b - 1) * Math.Log(1 - x) - LogBeta(a, b));

    /// <summary>The quantile function (inverse CDF): Newton steps kept inside a shrinking bisection bracket.</summary>
    public static double Quantile(double p, double a, double b)
    {
        if (double.IsNaN(p) || p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "A probability lies in [0, 1].");
        if (p == 0) return 0;
        if (p == 1) return 1;
        double lo = 0, hi = 1, x = p;
        for (var iteration = 0; iteration < 200; iteration++)
        {
            var f = Cdf(x, a, b) - p;
            if (f == 0) return x;
            if (f < 0) lo = x; else hi = x;
            var density = Pdf(x, a, b);
            var next = density > 0 && double.IsFinite(density) ? x - f / density : double.NaN;
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.Abs(next - x) <= 1e-16 * Math.Max(1, Math.Abs(x)) || hi - lo <= 1e-17) return next;
            x = next;
        }
        return x;
    }

    /// <summary><c>ln B(a, b)</c>.</summary>
    public static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary><c>ln Γ(x)</c> for x &gt; 0 by the Lanczos approximation (g = 7, 9 terms; about 1e-15 relative).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        var sum = LanczosCoefficients[0];
        for (var i = 1; i < LanczosCoefficients.Length; i++) sum += LanczosCoefficients[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    private static readonly double[] LanczosCoefficients =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7,
    ];

    // Modified Lentz evaluation of the continued fraction for I_x(a, b).
    private static double ContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double qab = a + b, qap = a + 1, qam = a - 1;
        double c = 1, d = 1 - qab * x / qap;
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        var h = d;
        for (var m = 1; m <= 10_000; m++)
        {
            var m2 = 2 * m;
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d; if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d; h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d; if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return h;
    }
}
