namespace Omni.Algebra.Rewards;

/// <summary>
/// A reward as a value: a name and a batched, asynchronous scoring function returning one score per sample.
/// Local rewards complete synchronously; remote scorers (HTTP) are genuinely asynchronous, which is what lets the
/// trainer overlap scoring with the next rollout.
/// </summary>
/// <param name="Name">The name scores are logged under (e.g. <c>jpeg_compressibility</c>).</param>
/// <param name="Score">Scores a batch: one finite float per sample, in batch order.</param>
public sealed record RewardFunction(string Name, Func<RewardBatch, CancellationToken, Task<float[]>> Score)
{
    /// <summary>A reward computed synchronously, sample by sample.</summary>
    public static RewardFunction PerSample(string name, Func<RgbImage, string, IReadOnlyDictionary<string, string>, float> score) =>
        new(name, (batch, _) => Task.FromResult(
            Enumerable.Range(0, batch.Count).Select(i => score(batch.Images[i], batch.Prompts[i], batch.Metadata[i])).ToArray()));
}
