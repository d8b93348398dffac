namespace Omni.Facade.Training;

/// <summary>
/// The objectives Omni registers, by the reference's names (for <see cref="OmniTrainingBuilder.WithObjective"/>, the
/// <c>actor_rollout_ref.model.algorithm</c> and <c>actor_rollout_ref.actor.diffusion_loss.loss_mode</c> keys). docs/algorithms.md
/// describes each: its formula, options, metrics and when to use it.
/// </summary>
public static class Objective
{
    /// <summary>Flow-GRPO's clipped policy gradient over reverse-SDE rollouts.</summary>
    public const string FlowGrpo = "flow_grpo";

    /// <summary>DanceGRPO (Flow-GRPO's loss; pair it with the <c>dance_sde</c> sampler).</summary>
    public const string DanceGrpo = "dance_grpo";

    /// <summary>GRPO-Guard: Flow-GRPO on a drift-normalised ratio.</summary>
    public const string GrpoGuard = "grpo_guard";

    /// <summary>Flow-DPPO: the unclipped policy gradient with a Gaussian-KL trust-region mask.</summary>
    public const string FlowDppo = "flow_dppo";

    /// <summary>Online Diffusion-DPO on each prompt's best and worst sample.</summary>
    public const string Dpo = "dpo";

    /// <summary>DiffusionNFT: a forward-process objective on clean latents from any sampler.</summary>
    public const string DiffusionNft = "diffusion_nft";

    /// <summary>On-policy distillation by the reverse-SDE KL to a teacher.</summary>
    public const string DistillKl = "distill_kl";

    /// <summary>On-policy distillation by the MSE to a teacher's prediction.</summary>
    public const string DistillFlowMatchingMse = "distill_fm_mse";
}
