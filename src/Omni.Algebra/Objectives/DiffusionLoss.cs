using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;

namespace Omni.Algebra.Objectives;

/// <summary>
/// A registered objective: its name, the training flow that feeds it, the inputs it needs (checked before it runs, with a
/// message that lists what is missing and what is available) and the function that computes it. A loss may refuse its
/// inputs (Diffusion-DPO's pair rules) with an error value.
/// </summary>
/// <param name="Name">The registry name (<c>flow_grpo</c>, <c>flow_dppo</c>, <c>dpo</c>, <c>diffusion_nft</c>, …).</param>
/// <param name="RequiredModelOutputs">Keys the current policy must provide.</param>
/// <param name="RequiredData">Keys the batch must provide.</param>
/// <param name="Compute">The loss for one trained step (or one forward-process micro-batch).</param>
public sealed record DiffusionLoss(
    string Name,
    ImmutableArray<string> RequiredModelOutputs,
    ImmutableArray<string> RequiredData,
    Func<LossInputs, Either<OmniError, LossResult>> Compute)
{
    /// <summary>Which training flow produces this loss's inputs (the reference's <c>model_type</c>); reverse-trajectory by default.</summary>
    public LossFlow Flow { get; init; } = LossFlow.ReverseTrajectory;

    /// <summary>A loss that never refuses its inputs.</summary>
    public static DiffusionLoss Total(string name, ImmutableArray<string> modelOutputs, ImmutableArray<string> data, Func<LossInputs, LossResult> compute) =>
        new(name, modelOutputs, data, inputs => compute(inputs));
}

/// <summary>
/// The training flow an objective needs (the reference's engine <c>model_type</c>).
/// </summary>
public enum LossFlow
{
    /// <summary>
    /// <c>diffusion_model</c>: SDE rollouts with log-probs; every trained step of the stored trajectory is recomputed with
    /// the policy (Flow-GRPO, GRPO-Guard, Flow-DPPO, distillation).
    /// </summary>
    ReverseTrajectory,

    /// <summary>
    /// <c>diffusion_dpo_model</c>: the best and worst sample of each prompt's group are noised once at a shared logit-normal
    /// timestep and the policy's prediction is compared with a frozen reference's (Diffusion-DPO).
    /// </summary>
    PairedPreference,

    /// <summary>
    /// <c>diffusion_nft_model</c>: clean latents from any sampler are re-noised at the schedule's timesteps and the current,
    /// old and reference predictions enter a forward-process loss (DiffusionNFT).
    /// </summary>
    ForwardProcess,
}
