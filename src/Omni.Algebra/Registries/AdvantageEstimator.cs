using Omni.Algebra.Objectives;
using static TorchSharp.torch;

namespace Omni.Algebra.Registries;

/// <summary>A registered advantage estimator: rewards (B, T) and prompt-group ids → advantages (B, T).</summary>
/// <param name="Name">The registry name.</param>
/// <param name="Compute">The estimator.</param>
public sealed record AdvantageEstimator(string Name, Func<Tensor, IReadOnlyList<string>, AdvantageSettings, Tensor> Compute)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Compute.Method.DeclaringType?.Name}.{Compute.Method.Name})";
}
