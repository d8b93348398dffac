namespace Omni.Algebra.Schedules;

/// <summary>
/// The alternative sigma spacings of the reference (<c>use_karras_sigmas</c>, <c>use_exponential_sigmas</c>,
/// <c>use_beta_sigmas</c>): each re-spaces n values between the first and last of the already shifted
/// schedule, in float64.
/// </summary>
public static class SigmaSpacings
{
    private const double KarrasRho = 7.0;
    private const double BetaAlpha = 0.6;
    private const double BetaBeta = 0.6;

    /// <summary>Karras et al. (2022) spacing with ρ = 7.</summary>
    public static double[] Karras(double sigmaMax, double sigmaMin, int count)
    {
        var ramp = NumpyMath.Linspace(0, 1, count);
        var minInvRho = Math.Pow(sigmaMin, 1 / KarrasRho);
        var maxInvRho = Math.Pow(sigmaMax, 1 / KarrasRho);
        return ramp.Select(r => Math.Pow(maxInvRho + r * (minInvRho - maxInvRho), KarrasRho)).ToArray();
    }

    /// <summary>Log-linear spacing.</summary>
    public static double[] Exponential(double sigmaMax, double sigmaMin, int count) =>
        NumpyMath.Linspace(Math.Log(sigmaMax), Math.Log(sigmaMin), count).Select(Math.Exp).ToArray();

    /// <summary>Spacing by the Beta(0.6, 0.6) quantiles (Lee et al., 2024).</summary>
    public static double[] Beta(double sigmaMax, double sigmaMin, int count) =>
        NumpyMath.Linspace(0, 1, count)
            .Select(r => sigmaMin + BetaDistribution.Quantile(1 - r, BetaAlpha, BetaBeta) * (sigmaMax - sigmaMin))
            .ToArray();
}
