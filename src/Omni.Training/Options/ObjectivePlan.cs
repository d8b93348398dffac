using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Training;
using static LanguageExt.Prelude;

namespace Omni.Training.Options;

/// <summary>What a run has besides its options, which decides whether an objective can train.</summary>
/// <param name="TrainsLora">Only LoRA adapters train (the reference policy is then the base model with adapters disabled).</param>
/// <param name="HasReference">A frozen reference model is available (LoRA always has one).</param>
/// <param name="HasTeacher">A distillation teacher is available.</param>
public sealed record ObjectiveResources(bool TrainsLora, bool HasReference, bool HasTeacher)
{
    /// <summary>Whether a reference policy exists (LoRA: the base model; full fine-tuning: a frozen copy).</summary>
    public bool ReferenceAvailable => TrainsLora || HasReference;
}

/// <summary>
/// The objectives one run trains with, resolved from the algorithm's recipe and the options: the advantage estimator, the
/// main loss (whose <see cref="DiffusionLoss.Flow"/> picks the training flow), and the optional KL and distillation terms.
/// </summary>
/// <param name="Estimator">The advantage estimator (reverse-trajectory flows).</param>
/// <param name="Loss">The main loss.</param>
/// <param name="Kl">The KL regulariser when <see cref="TrainingOptions.UseKl"/>.</param>
/// <param name="Distill">The added distillation loss when <see cref="TrainingOptions.UseDistillLoss"/>.</param>
public sealed record ObjectivePlan(AdvantageEstimator Estimator, DiffusionLoss Loss, DiffusionLoss? Kl, DiffusionLoss? Distill)
{
    /// <summary>The training flow of the main loss.</summary>
    public LossFlow Flow => Loss.Flow;

    /// <summary>Whether a teacher's predictions feed a loss (a distillation main loss or an added distillation term).</summary>
    public bool NeedsTeacher => IsDistillation(Loss.Name) || Distill is not null;

    /// <summary>Whether the teacher must supply its predictions (<c>teacher_noise_pred</c>), not only its means.</summary>
    public bool NeedsTeacherPredictions => Loss.Name == "distill_fm_mse" || Distill?.Name == "distill_fm_mse";

    /// <summary>Whether the run needs a reference policy (KL term, Diffusion-DPO, DiffusionNFT with <c>ref_kl_coef &gt; 0</c>).</summary>
    public bool NeedsReference(TrainingOptions options) =>
        Kl is not null || Flow == LossFlow.PairedPreference || (Flow == LossFlow.ForwardProcess && options.RefKlCoefficient > 0);

    /// <summary>Whether <paramref name="loss"/> is one of the distillation losses.</summary>
    public static bool IsDistillation(string loss) => loss is "distill_kl" or "distill_fm_mse";

    /// <summary>
    /// Resolves the objectives of <paramref name="algorithm"/> under <paramref name="options"/> and checks that they can train
    /// with <paramref name="resources"/>. Every problem is reported at once, each saying what to change; nothing is loaded or
    /// run, so callers can check before any work.
    /// </summary>
    public static Validation<OmniError, ObjectivePlan> Resolve(TrainingOptions options, string algorithm, ObjectiveRegistry objectives, ObjectiveResources resources)
    {
        var errors = new List<OmniError>();
        var recipe = objectives.Resolve(algorithm);
        recipe.IfLeft(errors.Add);
        DiffusionLoss? loss = null;
        AdvantageEstimator? estimator = null;
        recipe.IfRight(r => (estimator, loss) = r);
        if (options.LossMode is { } mode)
            objectives.Losses.Get(mode).Match(l => loss = l, e => errors.Add(e with { Message = $"actor.diffusion_loss.loss_mode (LossMode): {e.Message}" }));
        DiffusionLoss? kl = null, distill = null;
        if (options.UseKl) objectives.Losses.Get("kl").Match(l => kl = l, errors.Add);
        if (options.UseDistillLoss) objectives.Losses.Get(options.DistillLossMode).Match(l => distill = l, errors.Add);
        if (loss is null || estimator is null) return Fail<OmniError, ObjectivePlan>(Seq(errors));

        var plan = new ObjectivePlan(estimator, loss, kl, distill);
        void Problem(string message) => errors.Add(OmniError.Invalid(message));
        var name = loss.Name;
        switch (loss.Flow)
        {
            case LossFlow.PairedPreference:
                if (options.GroupSize < 2)
                    Problem($"{name} pairs the best and the worst sample of each prompt, so it needs GroupSize (actor_rollout_ref.rollout.n) ≥ 2, got {options.GroupSize}.");
                if (options.MicroBatchSize % 2 != 0)
                    Problem($"{name} trains adjacent (chosen, rejected) pairs, which a micro-batch must not split: MicroBatchSize must be even, got {options.MicroBatchSize}.");
                if (!resources.ReferenceAvailable)
                    Problem($"{name} compares the policy with a frozen reference: train LoRA adapters (the base model is the reference) or give a reference model (WithReference).");
                break;
            case LossFlow.ForwardProcess:
                if (options.RefKlCoefficient > 0 && !resources.ReferenceAvailable)
                    Problem($"{name} with ref_kl_coef (RefKlCoefficient) = {options.RefKlCoefficient} needs a reference policy: train LoRA adapters, give a reference model (WithReference), or set ref_kl_coef to 0.");
                break;
        }
        if (loss.Flow != LossFlow.ReverseTrajectory)
        {
            if (options.UseKl)
                Problem($"UseKl (actor.use_kl_loss) adds the reverse-SDE KL, which {name} does not compute; "
                        + (loss.Flow == LossFlow.ForwardProcess ? "use ref_kl_coef (RefKlCoefficient) instead." : "dpo_beta already anchors DPO to its reference."));
            if (options.UseDistillLoss) Problem($"UseDistillLoss (actor.use_distill_loss) applies to reverse-trajectory objectives, not {name}.");
            if (options.Fast) Problem($"Fast (Flow-GRPO-Fast) applies to reverse-trajectory objectives, not {name}.");
            if (options.InnerEpochs != 1 && loss.Flow == LossFlow.PairedPreference)
                Problem($"InnerEpochs must be 1 for {name} (each step noises its pairs once), got {options.InnerEpochs}.");
        }
        if (plan.NeedsTeacher && !resources.HasTeacher)
            Problem($"A distillation loss ({(IsDistillation(name) ? name : options.DistillLossMode)}) is active but no teacher is configured: set "
                    + "distillation.teacher_models.teacher_model.model_path (or call WithTeacher).");
        if (!plan.NeedsTeacher && resources.HasTeacher)
            Problem("A distillation teacher is configured but no distillation loss is active: set actor.diffusion_loss.loss_mode (LossMode) to "
                    + "distill_kl or distill_fm_mse, or UseDistillLoss (actor.use_distill_loss) = true.");
        if (options.UseDistillLoss && IsDistillation(name))
            Problem($"UseDistillLoss adds a distillation term to another objective; the main loss is already {name}.");
        if (options.UseKl && !resources.ReferenceAvailable && loss.Flow == LossFlow.ReverseTrajectory)
            Problem("UseKl with full fine-tuning needs a reference policy, a frozen copy of the initial model "
                    + "(Policy.Reference; with OmniTrainingBuilder and a module of your own, WithReference(copy)).");
        return errors.Count == 0 ? Success<OmniError, ObjectivePlan>(plan) : Fail<OmniError, ObjectivePlan>(Seq(errors));
    }
}
