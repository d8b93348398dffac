using Omni.Algebra.Sde;

namespace Omni.Shapes.Pipeline;

/// <summary>How <see cref="ShapesSampler"/> samples: steps, CFG scale and the SDE (η 0 is the deterministic ODE).</summary>
/// <param name="Steps">Denoising steps.</param>
/// <param name="GuidanceScale">Classifier-free guidance scale against the empty prompt; ≤ 1 disables it.</param>
/// <param name="NoiseLevel">η of the SDE sampler on every step but the last; 0 samples the ODE.</param>
/// <param name="SdeType">The SDE sampler used when η &gt; 0.</param>
/// <param name="MaxBatch">The most samples denoised at once (bounds memory).</param>
public sealed record ShapesSampling(
    int Steps = ShapesSampling.DefaultSteps,
    double GuidanceScale = ShapesSampling.DefaultGuidanceScale,
    double NoiseLevel = 0.0,
    SdeType SdeType = SdeType.Sde,
    int MaxBatch = 64)
{
    /// <summary>The default number of denoising steps.</summary>
    public const int DefaultSteps = 10;

    /// <summary>The default CFG scale.</summary>
    public const double DefaultGuidanceScale = 1.0;

    /// <summary>The defaults: ODE, <see cref="DefaultSteps"/> steps, <see cref="DefaultGuidanceScale"/>.</summary>
    public static ShapesSampling Default { get; } = new();
}
