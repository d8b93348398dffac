namespace Omni.Algebra.Objectives;

/// <summary>
/// The knobs of every objective: the reference's <c>actor.diffusion_loss</c> block (VeRL-Omni's <c>DiffusionLossConfig</c>), one property per key, with the
/// reference's defaults; <see cref="LossSettingsRules"/> checks them.
/// </summary>
public sealed record LossSettings
{
    /// <summary><c>clip_ratio</c> ε: the PPO trust region <c>[1 − ε, 1 + ε]</c> (reference default 1e-4; recipes use 1e-5).</summary>
    public double ClipRatio { get; init; } = 1e-4;

    /// <summary>
    /// <c>adv_clip_max</c>: advantages are clamped to ±this value (Flow-GRPO, GRPO-Guard); DiffusionNFT also uses it to map
    /// advantages to reward probabilities and as its loss multiplier.
    /// </summary>
    public double AdvantageClipMax { get; init; } = 5.0;

    /// <summary><c>kl_mask_threshold</c>: Flow-DPPO masks a sample when its Gaussian KL to the old policy is at least this.</summary>
    public double KlMaskThreshold { get; init; } = 1e-5;

    /// <summary><c>add_kl_coefficient</c>: Flow-DPPO divides the squared mean shift by <c>2·(std_dev_t·√−dt)²</c> (true) or by 2.</summary>
    public bool AddKlCoefficient { get; init; } = true;

    /// <summary><c>dpo_beta</c> β of Diffusion-DPO (reference default 2000; the online recipe uses 100).</summary>
    public double DpoBeta { get; init; } = 2000.0;

    /// <summary><c>mix_beta</c> β of DiffusionNFT: how far the implicit positive and negative policies sit from the old one.</summary>
    public double MixBeta { get; init; } = 0.5;

    /// <summary><c>adaptive_weight_min</c>: the floor of DiffusionNFT's adaptive x₀-error weight.</summary>
    public double AdaptiveWeightMin { get; init; } = 1e-5;

    /// <summary><c>ref_kl_coef</c>: weight of DiffusionNFT's squared distance to the reference prediction.</summary>
    public double RefKlCoefficient { get; init; }

    /// <summary>The reference defaults.</summary>
    public static LossSettings Default { get; } = new();
}
