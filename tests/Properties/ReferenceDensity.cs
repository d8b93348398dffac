using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;

namespace Omni.Tests.Properties;

/// <summary>
/// The samplers' means and Gaussian log-densities written out again in float64 on the host, straight
/// from the formulas of the specification, as an independent check on the tensor implementation.
/// </summary>
public static class ReferenceDensity
{
    /// <summary>Per-element mean and the standard deviation of x' for one row.</summary>
    public static (double[] Mean, double Scale) MeanAndScale(SdeType type, double sigma, double sigmaNext, double sigmaMax, double eta, double[] x, double[] v)
    {
        var dt = sigmaNext - sigma;
        var mean = new double[x.Length];
        switch (type)
        {
            case SdeType.Sde:
            {
                var std = Math.Sqrt(sigma / (1 - (sigma >= 1 ? sigmaMax : sigma))) * eta;
                for (var i = 0; i < x.Length; i++)
                    mean[i] = x[i] * (1 + std * std / (2 * sigma) * dt) + v[i] * (1 + std * std * (1 - sigma) / (2 * sigma)) * dt;
                return (mean, std * Math.Sqrt(-dt));
            }
            case SdeType.DanceSde:
            {
                for (var i = 0; i < x.Length; i++)
                {
                    var x0 = x[i] - sigma * v[i];
                    var score = -(x[i] - x0 * (1 - sigma)) / (sigma * sigma);
                    mean[i] = x[i] + dt * v[i] + -0.5 * eta * eta * score * dt;
                }
                return (mean, eta * Math.Sqrt(sigma - sigmaNext));
            }
            default:
            {
                var std = sigmaNext * Math.Sin(eta * Math.PI / 2);
                for (var i = 0; i < x.Length; i++)
                    mean[i] = (1 - sigmaNext) * (x[i] - sigma * v[i]) + Math.Sqrt(sigmaNext * sigmaNext - std * std) * (x[i] + (1 - sigma) * v[i]);
                return (mean, std);
            }
        }
    }

    /// <summary>The mean over elements of the Gaussian log-density of x' (with the normaliser).</summary>
    public static double LogDensity(double[] prev, double[] mean, double scale) =>
        prev.Select((p, i) => -(p - mean[i]) * (p - mean[i]) / (2 * scale * scale) - Math.Log(scale) - 0.5 * Math.Log(2 * Math.PI)).Average();
}
