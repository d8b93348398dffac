using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Objectives;

/// <summary>
/// The reference's checks of <c>actor.diffusion_loss</c> (<c>DiffusionLossConfig.__post_init__</c>), every problem at once; each
/// message names the reference key and the property.
/// </summary>
public static class LossSettingsRules
{
    /// <summary>The settings, or every rule they break, each naming the key.</summary>
    public static Validation<OmniError, LossSettings> Validate(LossSettings s)
    {
        var errors = new List<string>();
        void Positive(double value, string key, string property)
        {
            if (!(value > 0) || !double.IsFinite(value)) errors.Add($"actor.diffusion_loss.{key} ({property}) must be a positive number, got {value}.");
        }
        Positive(s.ClipRatio, "clip_ratio", nameof(s.ClipRatio));
        Positive(s.AdvantageClipMax, "adv_clip_max", nameof(s.AdvantageClipMax));
        Positive(s.KlMaskThreshold, "kl_mask_threshold", nameof(s.KlMaskThreshold));
        Positive(s.DpoBeta, "dpo_beta", nameof(s.DpoBeta));
        Positive(s.MixBeta, "mix_beta", nameof(s.MixBeta));
        Positive(s.AdaptiveWeightMin, "adaptive_weight_min", nameof(s.AdaptiveWeightMin));
        if (!(s.RefKlCoefficient >= 0) || !double.IsFinite(s.RefKlCoefficient))
            errors.Add($"actor.diffusion_loss.ref_kl_coef ({nameof(s.RefKlCoefficient)}) must be ≥ 0, got {s.RefKlCoefficient}.");
        return errors.Count == 0
            ? Success<OmniError, LossSettings>(s)
            : Fail<OmniError, LossSettings>(Seq(errors.Select(OmniError.Invalid)));
    }
}
