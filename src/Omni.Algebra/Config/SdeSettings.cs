using Omni.Algebra.Sde;

namespace Omni.Algebra.Config;

/// <summary>The SDE sampling settings of the algorithm (the reference's <c>algo</c> block).</summary>
public sealed record SdeSettings
{
    /// <summary>η inside the SDE window (the reference's dataclass default is 1.0; recipes use 0.7).</summary>
    public double NoiseLevel { get; init; } = 1.0;

    /// <summary>The sampler.</summary>
    public SdeType SdeType { get; init; } = SdeType.Sde;

    /// <summary>Length of the SDE window; null trains every step but the last.</summary>
    public int? WindowSize { get; init; }

    /// <summary>The envelope <c>[start, end)</c> the window's start is drawn from; null uses <c>(0, 5)</c> when a size is set.</summary>
    public (int Start, int End)? WindowRange { get; init; }

    /// <summary>The default envelope when a window size is set without a range.</summary>
    public static (int Start, int End) DefaultWindowRange => (0, 5);
}
