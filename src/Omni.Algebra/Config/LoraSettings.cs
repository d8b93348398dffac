using System.Collections.Immutable;

namespace Omni.Algebra.Config;

/// <summary>Low-rank adaptation settings; a rank of 0 trains the full model.</summary>
public sealed record LoraSettings
{
    /// <summary>The rank; 0 disables LoRA.</summary>
    public int Rank { get; init; }

    /// <summary>The scaling numerator (scale = alpha / rank).</summary>
    public double Alpha { get; init; } = 64;

    /// <summary>How the A matrices are initialised (<c>gaussian</c> as FlowGRPO).</summary>
    public string InitWeights { get; init; } = "gaussian";

    /// <summary>Module-name patterns to adapt; <c>all-linear</c> adapts every Linear layer.</summary>
    public ImmutableArray<string> TargetModules { get; init; } = ["all-linear"];

    /// <summary>Whether LoRA is on.</summary>
    public bool Enabled => Rank > 0;
}
