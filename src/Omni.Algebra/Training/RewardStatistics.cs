namespace Omni.Algebra.Training;

/// <summary>Batch reward statistics the reference logs: mean, std and the share of groups whose rewards are all equal.</summary>
/// <param name="Mean">Mean reward.</param>
/// <param name="Std">Unbiased standard deviation (0 for one sample).</param>
/// <param name="ZeroStdGroupFraction">Share of groups with zero reward spread — they carry no learning signal.</param>
public sealed record RewardStatistics(double Mean, double Std, double ZeroStdGroupFraction)
{
    /// <summary>Statistics of <paramref name="rewards"/> grouped by <paramref name="groupIds"/>.</summary>
    public static RewardStatistics Of(IReadOnlyList<float> rewards, IReadOnlyList<string> groupIds)
    {
        if (rewards.Count == 0) return new RewardStatistics(double.NaN, double.NaN, double.NaN);
        var mean = rewards.Average(r => (double)r);
        var std = rewards.Count > 1 ? Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / (rewards.Count - 1)) : 0;
        var groups = rewards.Select((r, i) => (r, id: groupIds[i])).GroupBy(p => p.id).ToList();
        var flat = groups.Count(g => g.Select(p => p.r).Distinct().Count() == 1);
        return new RewardStatistics(mean, std, (double)flat / groups.Count);
    }
}
