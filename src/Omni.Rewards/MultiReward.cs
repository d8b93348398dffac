using System.Collections.Immutable;
using Omni.Algebra.Rewards;

namespace Omni.Rewards;

/// <summary>
/// Several rewards scored together: every component scores the whole batch (concurrently) and the total of sample i
/// is Σₖ wₖ·scoreₖ[i], summed in double precision. Each component's raw scores are kept for logging.
/// Build one with <see cref="Combine(ValueTuple{RewardFunction, double}[])"/>.
/// </summary>
public sealed record MultiReward
{
    private MultiReward(ImmutableArray<WeightedReward> components) => Components = components;

    /// <summary>The components in the order given.</summary>
    public ImmutableArray<WeightedReward> Components { get; }

    /// <summary>Combines rewards with weights, e.g. <c>Combine((JpegRewards.Compressibility, 1.0), (aesthetic, 0.5))</c>.</summary>
    /// <exception cref="ArgumentException">
    /// No components; a reward name empty or used twice; a weight NaN or infinite; or every weight zero (all problems are listed).
    /// </exception>
    public static MultiReward Combine(params (RewardFunction Reward, double Weight)[] components)
    {
        ArgumentNullException.ThrowIfNull(components);
        return Combine(components.Select(c => new WeightedReward(c.Reward, c.Weight)));
    }

    /// <summary>Combines weighted rewards; see <see cref="Combine(ValueTuple{RewardFunction, double}[])"/>.</summary>
    public static MultiReward Combine(IEnumerable<WeightedReward> components)
    {
        var all = components.ToImmutableArray();
        if (all.IsEmpty)
            throw new ArgumentException("A multi-reward needs at least one (reward, weight) component; none were given.", nameof(components));
        var problems = new List<string>();
        foreach (var (c, i) in all.Select((c, i) => (c, i)))
        {
            if (c?.Reward is null) { problems.Add($"component {i} has no reward (null)"); continue; }
            if (string.IsNullOrWhiteSpace(c.Reward.Name)) problems.Add($"component {i} has an empty reward name");
            if (!double.IsFinite(c.Weight)) problems.Add($"reward '{c.Reward.Name}' has weight {c.Weight}; weights must be finite");
        }
        foreach (var name in all.Where(c => c?.Reward is not null).GroupBy(c => c.Reward.Name).Where(g => g.Count() > 1).Select(g => g.Key))
            problems.Add($"reward name '{name}' is used more than once; component scores are logged by name");
        if (problems.Count == 0 && all.All(c => c.Weight == 0))
            problems.Add("every weight is zero, so the total would always be 0");
        if (problems.Count > 0)
            throw new ArgumentException($"Invalid multi-reward: {string.Join("; ", problems)}.", nameof(components));
        return new MultiReward(all);
    }

    /// <summary>
    /// Scores <paramref name="batch"/> with every component at once and weighs the results. Each component runs on
    /// the thread pool, so synchronous (CPU-bound) rewards overlap too.
    /// </summary>
    /// <exception cref="RewardException">A component failed or returned a wrong count or a non-finite score.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public async Task<RewardEvaluation> Evaluate(RewardBatch batch, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellation.ThrowIfCancellationRequested();
        var tasks = Components
            .Select(c => Task.Run(() => ScoreValidation.ScoreChecked(c.Reward, batch, cancellation), cancellation))
            .ToArray();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch
        {
            // WhenAll surfaces only the first exception; prefer a reward's own failure over a cancellation it caused.
            var failure = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault();
            if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            throw;
        }
        var scores = tasks.Select(t => t.Result).ToArray();
        return new RewardEvaluation(
            WeightedSum(scores, Components.Select(c => c.Weight).ToArray()),
            Components.Select((c, k) => (c.Reward.Name, scores[k])).ToImmutableDictionary(p => p.Name, p => p.Item2));
    }

    /// <summary>
    /// Starts scoring <paramref name="batch"/> in the background and returns at once, so the caller can run the next
    /// rollout meanwhile; await the returned <see cref="PendingEvaluation"/> for the result or the failure.
    /// </summary>
    public PendingEvaluation Start(RewardBatch batch, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return new PendingEvaluation(batch.Count, Task.Run(() => Evaluate(batch, cancellation), cancellation));
    }

    /// <summary>Σₖ wₖ·scoresₖ[i] for every sample i, in double precision. Pure.</summary>
    /// <exception cref="ArgumentException">The score arrays and weights disagree in number or length.</exception>
    public static float[] WeightedSum(IReadOnlyList<float[]> scores, IReadOnlyList<double> weights)
    {
        if (scores.Count != weights.Count)
            throw new ArgumentException($"{scores.Count} score arrays but {weights.Count} weights.", nameof(weights));
        var n = scores.Count == 0 ? 0 : scores[0].Length;
        if (scores.Any(s => s.Length != n))
            throw new ArgumentException("Every component must score the same number of samples.", nameof(scores));
        var total = new float[n];
        for (var i = 0; i < n; i++)
        {
            var sum = 0.0;
            for (var k = 0; k < scores.Count; k++) sum += weights[k] * scores[k][i];
            total[i] = (float)sum;
        }
        return total;
    }
}
