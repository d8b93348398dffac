using Omni.Algebra.Config;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// The steps <c>[Start, End)</c> of a rollout that run the SDE (and are trained); the others run the ODE
/// (η = 0). Without a window size every step but the last is stochastic, as in the reference.
/// </summary>
/// <param name="Start">First SDE step.</param>
/// <param name="End">One past the last SDE step.</param>
public readonly record struct SdeWindow(int Start, int End)
{
    /// <summary>The number of trained steps.</summary>
    public int Length => End - Start;

    /// <summary>Whether step <paramref name="step"/> is inside the window.</summary>
    public bool Contains(int step) => step >= Start && step < End;

    /// <summary>
    /// The window for a rollout of <paramref name="numSteps"/> steps: all but the last without a size, else a start
    /// drawn uniformly from <c>[range.Start, range.End − size]</c> by <paramref name="drawInclusive"/>(low, high).
    /// </summary>
    public static SdeWindow Choose(SdeSettings settings, int numSteps, Func<int, int, int> drawInclusive)
    {
        if (settings.WindowSize is not { } size) return new SdeWindow(0, numSteps - 1);
        var (low, end) = settings.WindowRange ?? SdeSettings.DefaultWindowRange;
        var start = drawInclusive(low, end - size);
        return new SdeWindow(start, start + size);
    }
}
