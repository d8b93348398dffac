namespace Omni.Algebra.Config;

/// <summary>The sampling pipeline's settings (the reference's <c>pipeline</c> block).</summary>
public sealed record PipelineSettings
{
    /// <summary>Image height in pixels; a multiple of twice the VAE scale factor.</summary>
    public int Height { get; init; } = 512;

    /// <summary>Image width in pixels; a multiple of twice the VAE scale factor.</summary>
    public int Width { get; init; } = 512;

    /// <summary>Denoising steps per rollout.</summary>
    public int NumInferenceSteps { get; init; } = 10;

    /// <summary>Standard CFG scale (SD3, Wan); null or ≤ 1 disables it.</summary>
    public double? GuidanceScale { get; init; }

    /// <summary>Qwen-Image true-CFG scale; &gt; 1 enables it.</summary>
    public double TrueCfgScale { get; init; } = 1.0;

    /// <summary>Text-encoder sequence length.</summary>
    public int MaxSequenceLength { get; init; } = 512;

    /// <summary>Video frames (1 for images).</summary>
    public int NumFrames { get; init; } = 1;
}
