namespace Omni.Algebra.Training;

/// <summary>The shape of the learning-rate curve after warm-up.</summary>
public enum LearningRateShape
{
    /// <summary>Flat at the base rate (the reference's default).</summary>
    Constant,

    /// <summary>Linear decay to <c>min_lr_ratio</c> × base.</summary>
    Linear,

    /// <summary>Cosine decay to <c>min_lr_ratio</c> × base.</summary>
    Cosine,
}

/// <summary>A pure learning-rate schedule: linear warm-up then constant, linear or cosine decay.</summary>
/// <param name="BaseRate">Peak learning rate.</param>
/// <param name="Shape">Decay shape after warm-up.</param>
/// <param name="WarmupSteps">Optimizer steps of linear warm-up from 0.</param>
/// <param name="MinRatio">Floor of the decay as a fraction of <paramref name="BaseRate"/>.</param>
public sealed record LearningRateSchedule(double BaseRate, LearningRateShape Shape = LearningRateShape.Constant, int WarmupSteps = 0, double MinRatio = 0)
{
    /// <summary>The rate for optimizer step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public double At(int step, int totalSteps)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return BaseRate * (step + 1) / WarmupSteps;
        var span = Math.Max(1, totalSteps - WarmupSteps);
        var progress = Math.Clamp((double)(step - WarmupSteps) / span, 0, 1);
        var factor = Shape switch
        {
            LearningRateShape.Linear => 1 - progress,
            LearningRateShape.Cosine => 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => 1.0,
        };
        return BaseRate * (MinRatio + (1 - MinRatio) * factor);
    }
}
