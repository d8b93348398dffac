using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Training;

/// <summary>Where the SDE window sits at a given training step (VeRL-Omni's MixGRPO window schedule and Flow-GRPO-Fast's branch point).</summary>
/// <param name="Strategy">Full, random or progressive.</param>
/// <param name="Size">Window length in steps (ignored for <see cref="WindowStrategy.Full"/>).</param>
/// <param name="RangeStart">First step the window may start at (the envelope's start).</param>
/// <param name="RangeEnd">Exclusive end of the envelope: the window never reaches past it.</param>
/// <param name="Seed">MixGRPO's <c>sde_window_seed</c> (default 0).</param>
/// <param name="IterationsPerGroup">Progressive: training steps per window position.</param>
public sealed record WindowSchedule(
    WindowStrategy Strategy, int Size = 2, int RangeStart = 0, int RangeEnd = 5, long Seed = 0, int IterationsPerGroup = 1)
{
    /// <summary>SDE on every step but the last.</summary>
    public static WindowSchedule Full { get; } = new(WindowStrategy.Full);

    /// <summary>The window for training step <paramref name="globalStep"/> of an <paramref name="inferenceSteps"/>-step schedule.</summary>
    public Either<OmniError, SdeWindow> At(int globalStep, int inferenceSteps)
    {
        if (Strategy == WindowStrategy.Full)
            return inferenceSteps < 2
                ? Left<OmniError, SdeWindow>(OmniError.Invalid("A full SDE window needs at least 2 inference steps."))
                : Right<OmniError, SdeWindow>(new SdeWindow(0, inferenceSteps - 1));
        var name = Strategy == WindowStrategy.Random ? "random" : "progressive";
        var maxStart = RangeEnd - Size;
        if (Size < 1 || maxStart < RangeStart)
            return Left<OmniError, SdeWindow>(OmniError.Invalid(
                $"MixGRPO {name} window does not fit: sde_window_range=[{RangeStart}, {RangeEnd}], sde_window_size={Size}."));
        if (RangeEnd > inferenceSteps)
            return Left<OmniError, SdeWindow>(OmniError.Invalid(
                $"sde_window_range=[{RangeStart}, {RangeEnd}] reaches past the {inferenceSteps}-step schedule."));
        var start = Strategy == WindowStrategy.Random
            ? PythonRandom.Seeded(Seed + globalStep).RandInt(RangeStart, maxStart).Value
            : Math.Min(RangeStart + Math.Max(0, globalStep) / Math.Max(1, IterationsPerGroup) * Size, maxStart);
        return new SdeWindow(start, start + Size);
    }
}
