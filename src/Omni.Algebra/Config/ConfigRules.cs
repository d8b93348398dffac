using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Config;

/// <summary>
/// Every rule a <see cref="DiffusionModelConfig"/> must satisfy, checked together so that a configuration with
/// several problems reports all of them. Each message names the configuration key.
/// </summary>
public static class ConfigRules
{
    /// <summary>The accepted compute dtypes.</summary>
    public static readonly IReadOnlyList<string> DTypes = ["float32", "bfloat16", "float16"];

    /// <summary>Validates the configuration.</summary>
    public static Validation<OmniError, DiffusionModelConfig> Validate(DiffusionModelConfig config)
    {
        var errors = new List<string>();
        var (p, s, l) = (config.Pipeline, config.Sde, config.Lora);
        if (string.IsNullOrWhiteSpace(config.Path)) errors.Add("model.path must name the diffusers model folder.");
        if (string.IsNullOrWhiteSpace(config.Architecture)) errors.Add("model.architecture must not be empty.");
        if (string.IsNullOrWhiteSpace(config.Algorithm)) errors.Add("model.algorithm must not be empty.");
        if (config.VaeScaleFactor < 1) errors.Add($"model.vae_scale_factor must be positive, got {config.VaeScaleFactor}.");
        if (p.NumInferenceSteps < 1) errors.Add($"model.pipeline.num_inference_steps must be positive, got {p.NumInferenceSteps}.");
        var multiple = 2 * Math.Max(1, config.VaeScaleFactor);
        foreach (var (key, value) in new[] { ("height", p.Height), ("width", p.Width) })
        {
            if (value < 1) errors.Add($"model.pipeline.{key} must be positive, got {value}.");
            else if (value % multiple != 0)
                errors.Add($"model.pipeline.{key} = {value} is not divisible by {multiple} (twice the VAE scale factor {config.VaeScaleFactor}).");
        }
        if (p.GuidanceScale is { } g && !(double.IsFinite(g) && g >= 0)) errors.Add($"model.pipeline.guidance_scale must be a non-negative number, got {g}.");
        if (!(double.IsFinite(p.TrueCfgScale) && p.TrueCfgScale >= 0)) errors.Add($"model.pipeline.true_cfg_scale must be a non-negative number, got {p.TrueCfgScale}.");
        if (p.MaxSequenceLength < 1) errors.Add($"model.pipeline.max_sequence_length must be positive, got {p.MaxSequenceLength}.");
        if (p.NumFrames < 1) errors.Add($"model.pipeline.num_frames must be positive, got {p.NumFrames}.");
        if (!(double.IsFinite(s.NoiseLevel) && s.NoiseLevel >= 0)) errors.Add($"model.algo.noise_level must be a non-negative number, got {s.NoiseLevel}.");
        if (s.WindowSize is { } size)
        {
            var (start, end) = s.WindowRange ?? SdeSettings.DefaultWindowRange;
            if (size < 1) errors.Add($"model.algo.sde_window_size must be positive, got {size}.");
            if (start < 0 || end <= start) errors.Add($"model.algo.sde_window_range must satisfy 0 ≤ start < end, got [{start}, {end}].");
            else if (size > end - start) errors.Add($"model.algo.sde_window_size = {size} does not fit sde_window_range [{start}, {end}].");
            if (end > p.NumInferenceSteps) errors.Add($"model.algo.sde_window_range end {end} exceeds num_inference_steps {p.NumInferenceSteps}.");
        }
        else if (s.WindowRange is { } range)
        {
            errors.Add($"model.algo.sde_window_range [{range.Start}, {range.End}] is set without sde_window_size.");
        }
        if (l.Rank < 0) errors.Add($"model.lora_rank must be ≥ 0, got {l.Rank}.");
        if (l.Enabled && !(l.Alpha > 0)) errors.Add($"model.lora_alpha must be positive when LoRA is on, got {l.Alpha}.");
        if (l.Enabled && l.TargetModules.IsDefaultOrEmpty) errors.Add("model.target_modules must name at least one module pattern when LoRA is on.");
        if (!DTypes.Contains(config.DType)) errors.Add($"model.dtype '{config.DType}' is not one of: {string.Join(", ", DTypes)}.");
        return errors.Count == 0
            ? Success<OmniError, DiffusionModelConfig>(config)
            : Fail<OmniError, DiffusionModelConfig>(Seq(errors.Select(OmniError.Invalid)));
    }
}
