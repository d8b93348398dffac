using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>The settings of the group-normalised advantage.</summary>
public sealed record AdvantageSettings
{
    /// <summary>Added to the std before dividing.</summary>
    public double Epsilon { get; init; } = 1e-4;

    /// <summary>Divide by the std (GRPO); false gives Dr.GRPO's mean-only centring.</summary>
    public bool NormalizeByStd { get; init; } = true;

    /// <summary>Use one unbiased std over the whole (B, T) batch instead of each group's.</summary>
    public bool GlobalStd { get; init; } = true;

    /// <summary>The reference defaults.</summary>
    public static AdvantageSettings Default { get; } = new();
}

/// <summary>
/// The Flow-GRPO outcome advantage (<c>compute_flow_grpo_outcome_advantage</c>; also <c>dance_grpo</c>):
/// rewards (B, T) centred by their prompt group's mean and divided by a global or per-group unbiased std
/// (plus ε). A group of one has advantage 0.
/// </summary>
public static class GroupAdvantage
{
    /// <summary>Computes advantages (B, T) from rewards (B, T) and one group id per row.</summary>
    public static Tensor Compute(Tensor rewards, IReadOnlyList<string> groupIds, AdvantageSettings settings)
    {
        if (rewards.dim() != 2)
            throw new ArgumentException($"Rewards must be (B, T), got ({string.Join(", ", rewards.shape)}).", nameof(rewards));
        if (groupIds.Count != rewards.shape[0])
            throw new ArgumentException($"Expected one group id per row ({rewards.shape[0]}), got {groupIds.Count}.", nameof(groupIds));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batchStd = settings.GlobalStd ? rewards.std() : null;
        var advantages = empty_like(rewards);
        foreach (var group in groupIds.Select((id, row) => (id, row)).GroupBy(p => p.id))
        {
            var rows = tensor(group.Select(p => (long)p.row).ToArray(), ScalarType.Int64, rewards.device);
            var block = rewards.index_select(0, rows);
            Tensor mean, std;
            if (rows.numel() == 1)
            {
                mean = block;
                std = batchStd ?? ones(1, rewards.dtype, rewards.device);
            }
            else
            {
                mean = block.mean();
                std = batchStd ?? block.std();
            }
            var centred = block - mean;
            advantages.index_copy_(0, rows, settings.NormalizeByStd ? centred / (std + settings.Epsilon) : centred);
        }
        return advantages.MoveToOuterDisposeScope();
    }
}
