using Omni.Algebra.Config;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// The reference's per-sample SDE windows (<c>sample_per_sample_sde_windows</c> of its request batching): without a window
/// size every sample gets every step but the last; with one, each sample's start is one
/// <c>torch.randint(range_start, range_end − size + 1, (1,))</c> from that sample's own generator, so a sample's window does not
/// depend on which other samples share its batch or in what order.
/// </summary>
public static class SdeWindows
{
    /// <summary>One window per generator (one per sample, in row order).</summary>
    /// <param name="settings">The window size and envelope (<c>sde_window_size</c>, <c>sde_window_range</c>, default (0, 5)).</param>
    /// <param name="numSteps">The schedule's length.</param>
    /// <param name="generators">Each sample's CPU generator, already advanced past its initial noise as the reference's is.</param>
    public static IReadOnlyList<SdeWindow> PerSample(SdeSettings settings, int numSteps, IReadOnlyList<Generator> generators) =>
        generators.Select(g => SdeWindow.Choose(settings, numSteps, (low, highInclusive) =>
        {
            using var start = randint(low, highInclusive + 1, [1], ScalarType.Int64, CPU, generator: g);
            return (int)start.item<long>();
        })).ToArray();
}
