using System.Collections.Immutable;

namespace Omni.Algebra.Objectives;

/// <summary>
/// A registered objective: its name, the inputs it needs (checked before it runs, with a message that lists
/// what is missing and what is available) and the function that computes it.
/// </summary>
/// <param name="Name">The registry name (<c>flow_grpo</c>, <c>grpo_guard</c>, <c>kl</c>, …).</param>
/// <param name="RequiredModelOutputs">Keys the current policy must provide.</param>
/// <param name="RequiredData">Keys the batch must provide.</param>
/// <param name="Compute">The loss for one trained step.</param>
public sealed record DiffusionLoss(
    string Name,
    ImmutableArray<string> RequiredModelOutputs,
    ImmutableArray<string> RequiredData,
    Func<LossInputs, LossResult> Compute);
