namespace Omni.Algebra.Objectives;

/// <summary>The knobs of the policy-gradient objectives (the reference's <c>actor</c> loss configuration).</summary>
public sealed record LossSettings
{
    /// <summary><c>clip_ratio</c> ε: the PPO trust region <c>[1 − ε, 1 + ε]</c> (reference default 1e-4; recipes use 1e-5).</summary>
    public double ClipRatio { get; init; } = 1e-4;

    /// <summary><c>adv_clip_max</c>: advantages are clamped to ±this value.</summary>
    public double AdvantageClipMax { get; init; } = 5.0;

    /// <summary>The defaults.</summary>
    public static LossSettings Default { get; } = new();
}
