using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>How DiffusionNFT maps an advantage to its reward probability (<c>algorithm.adv_mode</c>).</summary>
public enum AdvantageMode
{
    /// <summary><c>continuous</c>: the clamped advantage as is.</summary>
    Continuous,

    /// <summary><c>positive_only</c>: negative advantages count as 0 (probability ≥ ½).</summary>
    PositiveOnly,

    /// <summary><c>negative_only</c>: positive advantages count as 0 (probability ≤ ½).</summary>
    NegativeOnly,

    /// <summary><c>one_only</c>: 1 for a positive advantage, else 0.</summary>
    OneOnly,

    /// <summary><c>binary</c>: the sign of the advantage.</summary>
    Binary,
}

/// <summary>
/// DiffusionNFT's trainer-side batch preparation (the reference's <c>DiffusionNFTLoss.prepare_actor_batch</c> helpers): group
/// advantages of the per-sample rewards, their reward probabilities, and the seeded choice of training timesteps.
/// </summary>
public static class NftBatchPreparation
{
    /// <summary>The reference name of <paramref name="mode"/> (<c>continuous</c>, <c>positive_only</c>, …).</summary>
    public static string Name(this AdvantageMode mode) => mode switch
    {
        AdvantageMode.PositiveOnly => "positive_only",
        AdvantageMode.NegativeOnly => "negative_only",
        AdvantageMode.OneOnly => "one_only",
        AdvantageMode.Binary => "binary",
        _ => "continuous",
    };

    /// <summary>The mode called <paramref name="name"/>, if it is one of the reference's five.</summary>
    public static AdvantageMode? ParseMode(string name) =>
        Enum.GetValues<AdvantageMode>().Cast<AdvantageMode?>().FirstOrDefault(m => m!.Value.Name() == name);

    /// <summary>
    /// <c>_compute_group_advantages</c>: rewards (B,) centred by their prompt group's mean and, when
    /// <see cref="AdvantageSettings.NormalizeByStd"/>, divided by the batch's or the group's unbiased std (1 for a group of
    /// one) plus ε.
    /// </summary>
    public static Tensor GroupAdvantages(Tensor rewards, IReadOnlyList<string> groupIds, AdvantageSettings settings)
    {
        if (rewards.dim() != 1)
            throw new ArgumentException($"Rewards must be (B,), got ({string.Join(", ", rewards.shape)}).", nameof(rewards));
        using var scope = NewDisposeScope();
        // Over a (B, 1) block a group's std over n·1 entries is its std over n rewards: the Flow-GRPO estimator is the same maths.
        var advantages = GroupAdvantage.Compute(rewards.detach().to(ScalarType.Float32).unsqueeze(1), groupIds, settings).squeeze(1);
        return advantages.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>_advantage_to_reward_prob</c>: the advantage clamped to ±<paramref name="advantageClipMax"/>, shaped by
    /// <paramref name="mode"/>, then <c>clamp(A/adv_clip_max/2 + ½, 0, 1)</c>.
    /// </summary>
    public static Tensor RewardProbability(Tensor advantages, double advantageClipMax, AdvantageMode mode)
    {
        using var scope = NewDisposeScope();
        var a = advantages.clamp(-advantageClipMax, advantageClipMax);
        a = mode switch
        {
            AdvantageMode.PositiveOnly => a.clamp(0, advantageClipMax),
            AdvantageMode.NegativeOnly => a.clamp(-advantageClipMax, 0),
            AdvantageMode.OneOnly => where(a > 0, ones_like(a), zeros_like(a)),
            AdvantageMode.Binary => a.sign(),
            _ => a,
        };
        return (a / advantageClipMax / 2.0 + 0.5).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>_select_train_timesteps</c>: of each row's T timesteps keep <c>max(1, int(T·fraction))</c>, chosen row by row with
    /// <c>randperm(T)</c> drawn from <paramref name="generator"/> (the reference seeds one CPU generator with
    /// <c>actor.data_loader_seed</c>); int64 (B, k).
    /// </summary>
    /// <exception cref="ArgumentException">The timesteps are not (B, T).</exception>
    public static Tensor SelectTrainTimesteps(Tensor trainTimesteps, double fraction, Generator generator)
    {
        if (trainTimesteps.dim() != 2)
            throw new ArgumentException($"`train_timesteps` must have shape [B, T], got ({string.Join(", ", trainTimesteps.shape)}).", nameof(trainTimesteps));
        var steps = trainTimesteps.shape[1];
        var kept = Math.Max(1, (long)(steps * fraction));
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>();
        for (var b = 0; b < trainTimesteps.shape[0]; b++)
        {
            var permutation = randperm(steps, generator: generator);
            rows.Add(trainTimesteps[b].index_select(0, permutation.narrow(0, 0, kept).to(trainTimesteps.device)));
        }
        return stack(rows, 0).to(ScalarType.Int64).MoveToOuterDisposeScope();
    }
}
