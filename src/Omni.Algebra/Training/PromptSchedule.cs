namespace Omni.Algebra.Training;

/// <summary>
/// Which prompts a training step uses: the prompt list is walked epoch by epoch, each epoch in its own seeded
/// permutation, so every prompt is seen once per epoch and step <c>s</c>'s prompts are a pure function of (seed, s).
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
        for (var k = 0; k < perStep; k++)
        {
            var position = (long)step * perStep + k;
            var epoch = position / promptCount;
            result[k] = Permutation(epoch, promptCount, seeds)[(int)(position % promptCount)];
        }
        return result;
    }

    /// <summary>The permutation of epoch <paramref name="epoch"/> (Fisher–Yates driven by the epoch's seed).</summary>
    public static int[] Permutation(long epoch, int count, SeedStreams seeds)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var random = new Random(unchecked((int)seeds.For(SeedStreams.Purpose.Prompts, epoch)));
        for (var i = count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
