using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Training;
using static LanguageExt.Prelude;

namespace Omni.Training.Options;

/// <summary>Checks training options, reporting every problem at once with the option's name.</summary>
public static class TrainingOptionsRules
{
    /// <summary>The options, or every rule they break.</summary>
    public static Validation<OmniError, TrainingOptions> Validate(TrainingOptions o)
    {
        var errors = new List<string>();
        void Require(bool ok, string message) { if (!ok) errors.Add(message); }
        Require(o.Steps >= 1, $"Steps must be ≥ 1, got {o.Steps}.");
        Require(o.PromptsPerStep >= 1, $"PromptsPerStep must be ≥ 1, got {o.PromptsPerStep}.");
        Require(o.GroupSize >= 1, $"GroupSize must be ≥ 1 (an empty group has nothing to compare), got {o.GroupSize}.");
        Require(o.MicroBatchSize >= 1, $"MicroBatchSize must be ≥ 1, got {o.MicroBatchSize}.");
        Require(o.InnerEpochs >= 1, $"InnerEpochs must be ≥ 1, got {o.InnerEpochs}.");
        Require(o.MiniBatchesPerEpoch >= 1, $"MiniBatchesPerEpoch must be ≥ 1, got {o.MiniBatchesPerEpoch}.");
        Require(o.MicroBatchSize < 1 || o.PromptsPerStep * o.GroupSize % o.MicroBatchSize == 0,
            $"PromptsPerStep × GroupSize ({o.PromptsPerStep * o.GroupSize}) must be a multiple of MicroBatchSize ({o.MicroBatchSize}).");
        var chunks = Math.Max(1, o.PromptsPerStep * o.GroupSize / Math.Max(1, o.MicroBatchSize));
        Require(chunks % Math.Max(1, o.MiniBatchesPerEpoch) == 0,
            $"The {chunks} micro-batches per step must split evenly into MiniBatchesPerEpoch ({o.MiniBatchesPerEpoch}): each optimizer update " +
            $"takes whole micro-batches, and a step has PromptsPerStep × GroupSize / MicroBatchSize = {o.PromptsPerStep * o.GroupSize} / {o.MicroBatchSize} of them. " +
            (o.MiniBatchesPerEpoch >= 1 && o.PromptsPerStep * o.GroupSize % o.MiniBatchesPerEpoch == 0
                ? $"Set MicroBatchSize to a divisor of {o.PromptsPerStep * o.GroupSize / o.MiniBatchesPerEpoch} (the samples of one update), or MiniBatchesPerEpoch to a divisor of {chunks}."
                : $"Set MiniBatchesPerEpoch to a divisor of {chunks}."));
        Require(o.TimestepFraction is > 0 and <= 1, $"TimestepFraction must be in (0, 1], got {o.TimestepFraction}.");
        errors.AddRange(LossSettingsRules.Validate(o.LossSettings).Match(_ => [], e => e.Select(x => x.Message)));
        Require(OldPolicyRefresh.Schedules.ContainsKey(o.OldPolicyDecaySchedule),
            $"OldPolicyDecaySchedule (algorithm.old_policy_decay_schedule) must be one of [{string.Join(", ", OldPolicyRefresh.Schedules.Keys)}], got '{o.OldPolicyDecaySchedule}'.");
        Require(o.OldPolicyDecay is null or (>= 0 and <= 1), $"OldPolicyDecay (algorithm.old_policy_decay) must be in [0, 1] or unset, got {o.OldPolicyDecay}.");
        Require(o.OldPolicyUpdateInterval >= 1, $"OldPolicyUpdateInterval (algorithm.old_policy_update_interval) must be ≥ 1, got {o.OldPolicyUpdateInterval}.");
        Require(o.DistillLossMode is "distill_kl" or "distill_fm_mse",
            $"DistillLossMode (actor.distill_loss_mode) must be distill_kl or distill_fm_mse, got '{o.DistillLossMode}'.");
        Require(o.DistillLossCoefficient >= 0, $"DistillLossCoefficient (actor.distill_loss_coef) must be ≥ 0, got {o.DistillLossCoefficient}.");
        Require(o.AdvantageEpsilon >= 0, $"AdvantageEpsilon must be ≥ 0, got {o.AdvantageEpsilon}.");
        Require(o.KlCoefficient >= 0, $"KlCoefficient must be ≥ 0, got {o.KlCoefficient}.");
        Require(o.LearningRate > 0 && double.IsFinite(o.LearningRate), $"LearningRate must be a positive number, got {o.LearningRate}.");
        Require(o.Beta1 is >= 0 and < 1 && o.Beta2 is >= 0 and < 1, $"Beta1 and Beta2 must be in [0, 1), got {o.Beta1}, {o.Beta2}.");
        Require(o.AdamEpsilon > 0, $"AdamEpsilon must be > 0, got {o.AdamEpsilon}.");
        Require(o.WeightDecay >= 0, $"WeightDecay must be ≥ 0, got {o.WeightDecay}.");
        Require(o.WarmupSteps >= 0, $"WarmupSteps must be ≥ 0, got {o.WarmupSteps}.");
        Require(o.MinLearningRateRatio is >= 0 and <= 1, $"MinLearningRateRatio must be in [0, 1], got {o.MinLearningRateRatio}.");
        Require(o.EmaDecay is null or (> 0 and < 1), $"EmaDecay must be in (0, 1) or unset, got {o.EmaDecay}.");
        Require(o.WindowSize >= 1, $"WindowSize must be ≥ 1, got {o.WindowSize}.");
        Require(o.WindowRangeEnd - o.WindowSize >= o.WindowRangeStart || (o.Window == WindowStrategy.Full && !o.Fast),
            $"The window does not fit: WindowRange=[{o.WindowRangeStart}, {o.WindowRangeEnd}], WindowSize={o.WindowSize}.");
        Require(!(o.Fast && o.Window == WindowStrategy.PerSample),
            "Fast (Flow-GRPO-Fast) branches a whole group at one window; it cannot be combined with Window = PerSample.");
        Require(o.IterationsPerGroup >= 1, $"IterationsPerGroup must be ≥ 1, got {o.IterationsPerGroup}.");
        Require(o.CheckpointEvery >= 0, $"CheckpointEvery must be ≥ 0, got {o.CheckpointEvery}.");
        Require(o.KeepCheckpoints >= 1, $"KeepCheckpoints must be ≥ 1, got {o.KeepCheckpoints}.");
        Require(o.SampleGridEvery >= 0, $"SampleGridEvery must be ≥ 0, got {o.SampleGridEvery}.");
        return errors.Count == 0
            ? Success<OmniError, TrainingOptions>(o)
            : Fail<OmniError, TrainingOptions>(Seq(errors.Select(OmniError.Invalid)));
    }
}
