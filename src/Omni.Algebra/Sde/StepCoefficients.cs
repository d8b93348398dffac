namespace Omni.Algebra.Sde;

/// <summary>
/// The scalar coefficients of one SDE step for one row (or for the whole batch when rows share σ and η),
/// computed on the host in float32 — the arithmetic the reference performs on 0-d float32 tensors. Every
/// sampler's mean is affine in the sample and the model output, <c>mean = A·x + B·v</c>, so the tensor
/// work reduces to two fused passes whatever the sampler.
/// </summary>
/// <param name="Std">The reference's <c>std_dev_t</c>.</param>
/// <param name="NoiseScale">The standard deviation of x' around the mean (the scale applied to ε).</param>
/// <param name="SampleCoefficient">A in <c>mean = A·x + B·v</c>.</param>
/// <param name="OutputCoefficient">B in <c>mean = A·x + B·v</c>.</param>
/// <param name="SqrtDt"><c>√(σ − σ')</c>.</param>
/// <param name="Sigma">σ.</param>
/// <param name="Dt"><c>dσ = σ' − σ</c> (negative).</param>
/// <param name="ScoreCoefficient">
/// <see cref="SdeType.DanceSde"/> only: the weight of <c>x − (1 − σ)·x̂0</c> in the mean (see <see cref="SdeStep"/>).
/// </param>
public readonly record struct StepCoefficients(float Std, float NoiseScale, float SampleCoefficient, float OutputCoefficient, float SqrtDt,
                                               float Sigma = 0f, float Dt = 0f, float ScoreCoefficient = 0f)
{
    /// <summary>Coefficients of <paramref name="type"/> for a step from σ to σ' with noise level η.</summary>
    /// <param name="type">The sampler.</param>
    /// <param name="sigma">σ, the current sigma.</param>
    /// <param name="sigmaNext">σ', the next (smaller) sigma.</param>
    /// <param name="sigmaMax">The schedule's second sigma, used by <see cref="SdeType.Sde"/> where σ = 1.</param>
    /// <param name="noiseLevel">η.</param>
    public static StepCoefficients For(SdeType type, float sigma, float sigmaNext, float sigmaMax, double noiseLevel)
    {
        var dt = sigmaNext - sigma;
        var sqrtDt = MathF.Sqrt(-dt);
        var eta = (float)noiseLevel;
        switch (type)
        {
            case SdeType.Sde:
            {
                // Where σ = 1 the reference borrows the second sigma so that σ/(1 − σ) stays finite. Omni also
                // borrows it for σ > 1: some static shifts below 1 round the first sigma to 1 + 1 ulp, where the
                // reference takes the square root of a negative number and returns NaN.
                var denominatorSigma = sigma >= 1f ? sigmaMax : sigma;
                var std = MathF.Sqrt(sigma / (1f - denominatorSigma)) * eta;
                var variance = std * std;
                var a = 1f + variance / (2f * sigma) * dt;
                var b = (1f + variance * (1f - sigma) / (2f * sigma)) * dt;
                return new(std, std * sqrtDt, a, b, sqrtDt, sigma, dt);
            }
            case SdeType.Cps:
            {
                // mean = (1 − σ')·x̂0 + √(σ'² − std²)·ε̂ with x̂0 = x − σv and ε̂ = x + (1 − σ)v.
                var std = sigmaNext * (float)Math.Sin(noiseLevel * Math.PI / 2);
                var keep = MathF.Sqrt(sigmaNext * sigmaNext - std * std);
                var a = (1f - sigmaNext) + keep;
                var b = -sigma * (1f - sigmaNext) + (1f - sigma) * keep;
                return new(std, std, a, b, sqrtDt, sigma, dt);
            }
            case SdeType.DanceSde:
            {
                // mean = x + dσ·v − ½η²·score·dσ with score = −(x + (1 − σ)v)/σ.
                var std = eta * MathF.Sqrt(sigma - sigmaNext);
                // As an affine map: A = 1 + ½η²dσ/σ, B = dσ + ½η²dσ(1 − σ)/σ. The step evaluates the score term
                // in the reference's order instead (see SdeStep), so only dσ and ½η²dσ/σ² are needed.
                var drift = 0.5f * eta * eta * dt / sigma;
                var a = 1f + drift;
                var b = dt + drift * (1f - sigma);
                return new(std, std, a, b, sqrtDt, sigma, dt, drift / sigma);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }
}
