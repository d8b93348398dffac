using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// How the next sample is obtained, named after the reference's arguments: <see cref="FromNoise"/> — drawn with the
/// given standard-normal noise (the rollout; the reference draws it from <c>generator</c>) — or <see cref="PrevSample"/>
/// — given outright (<c>prev_sample=</c>), so that only its log-probability is computed (training recomputation).
/// </summary>
public abstract record NextSample
{
    private NextSample() { }

    /// <summary>Sample <c>x' = mean + scale·ε</c> with this float32 noise ε, shaped like the model output.</summary>
    public static NextSample FromNoise(Tensor noise) => new OfNoise(noise);

    /// <summary>Score this float32 previous sample (it is detached: gradients flow only through the mean).</summary>
    public static NextSample PrevSample(Tensor prevSample) => new OfPrevSample(prevSample);

    internal sealed record OfNoise(Tensor Noise) : NextSample;

    internal sealed record OfPrevSample(Tensor Sample) : NextSample;
}
