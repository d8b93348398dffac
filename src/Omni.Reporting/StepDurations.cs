using System.Collections.Immutable;

namespace Omni.Reporting;

/// <summary>
/// The most recent step durations, for an ETA that follows speed changes (warm-up, evaluation steps) without jumping
/// on every step. Immutable: <see cref="Add"/> returns a new window.
/// </summary>
/// <param name="Capacity">How many recent durations are averaged.</param>
/// <param name="Recent">The durations in seconds, oldest first.</param>
public sealed record StepDurations(int Capacity, ImmutableQueue<double> Recent)
{
    /// <summary>An empty window averaging the last <paramref name="capacity"/> steps.</summary>
    public static StepDurations Empty(int capacity = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return new StepDurations(capacity, ImmutableQueue<double>.Empty);
    }

    /// <summary>This window with <paramref name="seconds"/> added (dropping the oldest when full).</summary>
    public StepDurations Add(double seconds)
    {
        var queue = Recent.Enqueue(seconds);
        return this with { Recent = queue.Count() > Capacity ? queue.Dequeue() : queue };
    }

    /// <summary>The mean duration in seconds, or null when no step has been timed.</summary>
    public double? Mean => Recent.IsEmpty ? null : Recent.Average();
}
