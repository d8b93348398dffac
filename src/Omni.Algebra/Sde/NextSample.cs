using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// How the next sample is obtained: drawn with the given standard-normal noise (rollout), or given
/// outright so that only its log-probability is computed (training recomputation).
/// </summary>
public abstract record NextSample
{
    private NextSample() { }

    /// <summary>Sample <c>x' = mean + scale·ε</c> with this float32 noise ε, shaped like the model output.</summary>
    public sealed record FromNoise(Tensor Noise) : NextSample;

    /// <summary>Use this float32 previous sample (it is detached: gradients flow only through the mean).</summary>
    public sealed record Given(Tensor PrevSample) : NextSample;

    /// <summary>Rollout path: draw with noise ε.</summary>
    public static NextSample WithNoise(Tensor noise) => new FromNoise(noise);

    /// <summary>Training path: score the stored previous sample.</summary>
    public static NextSample Known(Tensor prevSample) => new Given(prevSample);
}
