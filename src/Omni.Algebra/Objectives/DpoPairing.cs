namespace Omni.Algebra.Objectives;

/// <summary>
/// Online Diffusion-DPO's pairing (the reference's <c>build_online_dpo_pair_indices</c>): for each prompt uid with at least two
/// samples, in order of first appearance, the highest-scoring sample then the lowest (ties keep rollout order), so the batch
/// becomes adjacent (chosen, rejected) rows.
/// </summary>
public static class DpoPairing
{
    /// <summary>The selected row indices, chosen before rejected; empty when no prompt has two samples.</summary>
    /// <exception cref="ArgumentException">The counts of uids and scores differ.</exception>
    public static IReadOnlyList<int> Select(IReadOnlyList<string> uids, IReadOnlyList<float> scores)
    {
        if (uids.Count != scores.Count)
            throw new ArgumentException($"Online DPO pairing expects one uid per score, got {uids.Count} vs {scores.Count}.", nameof(uids));
        var selected = new List<int>();
        foreach (var group in Enumerable.Range(0, uids.Count).GroupBy(i => uids[i], StringComparer.Ordinal))
        {
            var rows = group.ToList();
            if (rows.Count < 2) continue;
            // A stable descending sort, as Python's sorted(..., reverse=True).
            var ranked = rows.OrderByDescending(i => scores[i]).ToList();
            selected.Add(ranked[0]);
            selected.Add(ranked[^1]);
        }
        return selected;
    }
}
