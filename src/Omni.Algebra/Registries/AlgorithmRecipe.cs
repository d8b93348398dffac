namespace Omni.Algebra.Registries;

/// <summary>
/// Which advantage estimator and which loss an algorithm name uses. The reference derives both from the
/// algorithm name by string substitution, so an algorithm such as <c>mix_grpo</c> (FlowGRPO maths with an
/// SDE window) only works there when both keys are pinned by hand; here the mapping is explicit data.
/// </summary>
/// <param name="AdvantageEstimator">The estimator's registry name.</param>
/// <param name="Loss">The loss's registry name.</param>
public sealed record AlgorithmRecipe(string AdvantageEstimator, string Loss);
