using System.Collections.Immutable;
using System.Globalization;
using LanguageExt;
using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Training.Options;
using static LanguageExt.Prelude;

namespace Omni.Facade.Configuration;

/// <summary>
/// The reference's names for the objective settings, over <see cref="TrainingOptions"/>: <c>actor_rollout_ref:actor:diffusion_loss:*</c>
/// (loss_mode, clip_ratio, adv_clip_max, kl_mask_threshold, add_kl_coefficient, dpo_beta, mix_beta, adaptive_weight_min,
/// ref_kl_coef), <c>actor_rollout_ref:actor:*</c> (use_kl_loss, kl_loss_coef, use_distill_loss, distill_loss_mode,
/// distill_loss_coef, ppo_epochs) and <c>algorithm:*</c> (adv_mode, timestep_fraction, norm_adv_by_std_in_grpo, global_std,
/// old_policy_decay_schedule, old_policy_decay, old_policy_update_interval). Each maps onto one option (the <c>training</c>
/// section's name for it); an unknown key in these sections, a bad value, or a value that contradicts the same option set
/// under <c>training</c> is an error naming both.
/// </summary>
public static class TrainingConfigBinding
{
    /// <summary>The loss block.</summary>
    public const string LossSection = "actor_rollout_ref:actor:diffusion_loss";

    /// <summary>The actor block.</summary>
    public const string ActorSection = "actor_rollout_ref:actor";

    /// <summary>The algorithm block.</summary>
    public const string AlgorithmSection = "algorithm";

    private delegate Either<string, TrainingOptions> Setter(TrainingOptions options, string value);

    private static readonly ImmutableSortedDictionary<string, (string Option, Setter Set)> Keys = new Dictionary<string, (string, Setter)>
    {
        [$"{LossSection}:loss_mode"] = (nameof(TrainingOptions.LossMode), (o, v) => o with { LossMode = v }),
        [$"{LossSection}:clip_ratio"] = (nameof(TrainingOptions.ClipRatio), Number((o, v) => o with { ClipRatio = v })),
        [$"{LossSection}:adv_clip_max"] = (nameof(TrainingOptions.AdvantageClipMax), Number((o, v) => o with { AdvantageClipMax = v })),
        [$"{LossSection}:kl_mask_threshold"] = (nameof(TrainingOptions.KlMaskThreshold), Number((o, v) => o with { KlMaskThreshold = v })),
        [$"{LossSection}:add_kl_coefficient"] = (nameof(TrainingOptions.AddKlCoefficient), Flag((o, v) => o with { AddKlCoefficient = v })),
        [$"{LossSection}:dpo_beta"] = (nameof(TrainingOptions.DpoBeta), Number((o, v) => o with { DpoBeta = v })),
        [$"{LossSection}:mix_beta"] = (nameof(TrainingOptions.MixBeta), Number((o, v) => o with { MixBeta = v })),
        [$"{LossSection}:adaptive_weight_min"] = (nameof(TrainingOptions.AdaptiveWeightMin), Number((o, v) => o with { AdaptiveWeightMin = v })),
        [$"{LossSection}:ref_kl_coef"] = (nameof(TrainingOptions.RefKlCoefficient), Number((o, v) => o with { RefKlCoefficient = v })),
        [$"{ActorSection}:use_kl_loss"] = (nameof(TrainingOptions.UseKl), Flag((o, v) => o with { UseKl = v })),
        [$"{ActorSection}:kl_loss_coef"] = (nameof(TrainingOptions.KlCoefficient), Number((o, v) => o with { KlCoefficient = v })),
        [$"{ActorSection}:use_distill_loss"] = (nameof(TrainingOptions.UseDistillLoss), Flag((o, v) => o with { UseDistillLoss = v })),
        [$"{ActorSection}:distill_loss_mode"] = (nameof(TrainingOptions.DistillLossMode), (o, v) => o with { DistillLossMode = v }),
        [$"{ActorSection}:distill_loss_coef"] = (nameof(TrainingOptions.DistillLossCoefficient), Number((o, v) => o with { DistillLossCoefficient = v })),
        [$"{ActorSection}:ppo_epochs"] = (nameof(TrainingOptions.InnerEpochs), Integer((o, v) => o with { InnerEpochs = v })),
        [$"{AlgorithmSection}:adv_mode"] = (nameof(TrainingOptions.AdvantageMode), (o, v) => NftBatchPreparation.ParseMode(v) is { } mode
            ? o with { AdvantageMode = mode }
            : $"must be one of [{string.Join(", ", Enum.GetValues<AdvantageMode>().Select(m => m.Name()))}]"),
        [$"{AlgorithmSection}:timestep_fraction"] = (nameof(TrainingOptions.TimestepFraction), Number((o, v) => o with { TimestepFraction = v })),
        [$"{AlgorithmSection}:norm_adv_by_std_in_grpo"] = (nameof(TrainingOptions.NormalizeAdvantageByStd), Flag((o, v) => o with { NormalizeAdvantageByStd = v })),
        [$"{AlgorithmSection}:global_std"] = (nameof(TrainingOptions.GlobalStd), Flag((o, v) => o with { GlobalStd = v })),
        [$"{AlgorithmSection}:old_policy_decay_schedule"] = (nameof(TrainingOptions.OldPolicyDecaySchedule), (o, v) => o with { OldPolicyDecaySchedule = v }),
        [$"{AlgorithmSection}:old_policy_decay"] = (nameof(TrainingOptions.OldPolicyDecay), (o, v) => v is "null" or "~" or ""
            ? o with { OldPolicyDecay = null }
            : Number((x, d) => x with { OldPolicyDecay = d })(o, v)),
        [$"{AlgorithmSection}:old_policy_update_interval"] = (nameof(TrainingOptions.OldPolicyUpdateInterval), Integer((o, v) => o with { OldPolicyUpdateInterval = v })),
    }.ToImmutableSortedDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The reference keys this binding reads, with the option each sets.</summary>
    public static IEnumerable<(string Key, string Option)> Supported => Keys.Select(p => (p.Key, p.Value.Option));

    /// <summary>Applies the reference keys present in <paramref name="configuration"/> over <paramref name="options"/>.</summary>
    public static Validation<OmniError, TrainingOptions> Apply(IConfiguration configuration, TrainingOptions options)
    {
        var (applied, errors) = Read(configuration, options);
        return errors.Count == 0 ? Success<OmniError, TrainingOptions>(applied) : Fail<OmniError, TrainingOptions>(Seq(errors));
    }

    /// <summary>
    /// Applies the reference keys present in <paramref name="configuration"/> over <paramref name="options"/> as far as they
    /// apply (a key with a problem is skipped), with every problem found.
    /// </summary>
    public static (TrainingOptions Options, IReadOnlyList<OmniError> Problems) Read(IConfiguration configuration, TrainingOptions options)
    {
        var errors = new List<OmniError>();
        foreach (var key in LeafKeys(configuration.GetSection(LossSection))
                     .Concat(LeafKeys(configuration.GetSection(ActorSection)).Where(k => !k.StartsWith(LossSection + ":", StringComparison.OrdinalIgnoreCase)))
                     .Concat(LeafKeys(configuration.GetSection(AlgorithmSection))))
        {
            var value = configuration[key]!;
            if (!Keys.TryGetValue(key, out var entry))
            {
                var section = key[..key.LastIndexOf(':')];
                var known = Keys.Keys.Where(k => k[..k.LastIndexOf(':')].Equals(section, StringComparison.OrdinalIgnoreCase)).Select(k => k[(k.LastIndexOf(':') + 1)..]);
                errors.Add(OmniError.Invalid($"Unknown key '{key}'. Known keys of {section}: [{string.Join(", ", known)}]."));
                continue;
            }
            entry.Set(options, value).Match(
                Right: updated =>
                {
                    var direct = configuration[$"training:{entry.Option}"];
                    var before = Describe(options, entry.Option);
                    options = updated;
                    if (direct is not null && Describe(updated, entry.Option) != before)
                        errors.Add(OmniError.Invalid($"'{key}' = {value} contradicts 'training:{entry.Option}' = {direct}; set one of them."));
                },
                Left: problem => errors.Add(OmniError.Invalid($"'{key}' {problem}, got '{value}'.")));
        }
        return (options, errors);
    }

    private static string Describe(TrainingOptions o, string property) =>
        Convert.ToString(typeof(TrainingOptions).GetProperty(property)!.GetValue(o), CultureInfo.InvariantCulture) ?? "null";

    private static IEnumerable<string> LeafKeys(IConfigurationSection section) =>
        section.GetChildren().SelectMany(child => child.GetChildren().Any() ? LeafKeys(child) : child.Value is null ? [] : [child.Path]);

    private static Setter Number(Func<TrainingOptions, double, TrainingOptions> set) => (o, v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? set(o, d) : "must be a number";

    private static Setter Integer(Func<TrainingOptions, int, TrainingOptions> set) => (o, v) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? set(o, i) : "must be an integer";

    private static Setter Flag(Func<TrainingOptions, bool, TrainingOptions> set) => (o, v) =>
        bool.TryParse(v, out var b) ? set(o, b) : "must be true or false";
}
