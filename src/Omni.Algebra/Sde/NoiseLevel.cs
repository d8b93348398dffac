using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// The SDE noise level η: one value for the batch, or one per row (request batching with per-row SDE
/// windows, where rows outside their window use η = 0).
/// </summary>
public readonly record struct NoiseLevel
{
    private NoiseLevel(double? shared, Tensor? perRow) => (Shared, PerRow) = (shared, perRow);

    /// <summary>The shared value, when there is one.</summary>
    public double? Shared { get; }

    /// <summary>Per-row values: a tensor with B elements, shaped (B,) or (B, 1, …, 1).</summary>
    public Tensor? PerRow { get; }

    /// <summary>One η for every row.</summary>
    public static NoiseLevel Of(double value) => new(value, null);

    /// <summary>One η per row.</summary>
    public static NoiseLevel Rows(Tensor values) => new(null, values);

    /// <summary>Lets a plain number stand for a shared noise level.</summary>
    public static implicit operator NoiseLevel(double value) => Of(value);
}
