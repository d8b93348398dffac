namespace Omni.Algebra.Training;

/// <summary>
/// Which prompts a training step uses: the prompt list is walked epoch by epoch, each epoch in its own seeded
/// permutation (<see cref="SeedStreams.Permutation"/>), so every prompt is seen once per epoch and step <c>s</c>'s prompts are a pure function of (seed, s).
/// </summary>
public static class PromptSchedule
{
    /// <summary>The <paramref name="perStep"/> prompt indices (into a list of <paramref name="promptCount"/>) of training step <paramref name="step"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No prompts, or a non-positive count per step.</exception>
    public static int[] IndicesFor(int step, int perStep, int promptCount, SeedStreams seeds)
    {
        if (promptCount < 1) throw new ArgumentOutOfRangeException(nameof(promptCount), "The prompt list is empty; training needs at least one prompt.");
        if (perStep < 1) throw new ArgumentOutOfRangeException(nameof(perStep), "At least one prompt per step is needed.");
        var result = new int[perStep];
        (long Epoch, int[] Order)? cached = null;
        for (var k = 0; k < perStep; k++)
        {
            var position = (long)step * perStep + k;
            var epoch = position / promptCount;
            if (cached?.Epoch != epoch) cached = (epoch, Permutation(epoch, promptCount, seeds));
            result[k] = cached.Value.Order[(int)(position % promptCount)];
        }
        return result;
    }

    /// <summary>The permutation of epoch <paramref name="epoch"/> (Fisher–Yates driven by the epoch's seed).</summary>
    public static int[] Permutation(long epoch, int count, SeedStreams seeds) =>
        seeds.Permutation(SeedStreams.Purpose.Prompts, epoch, 0, count);
}
