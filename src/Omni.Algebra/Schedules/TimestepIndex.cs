using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Schedules;

/// <summary>
/// Maps a timestep value back to its position in the schedule by exact float32 equality, as the
/// reference's <c>index_for_timestep</c> does. When a value occurs more than once the <em>second</em>
/// occurrence is taken, so a schedule entered mid-way (image-to-image) never skips a sigma.
/// </summary>
public static class TimestepIndex
{
    /// <summary>The index of <paramref name="timestep"/> in the state's timesteps, or a not-found error.</summary>
    public static Either<OmniError, int> Of(SchedulerState state, float timestep)
    {
        var first = -1;
        for (var i = 0; i < state.Timesteps.Length; i++)
        {
            if (state.Timesteps[i] != timestep) continue;
            if (first >= 0) return Right<OmniError, int>(i);
            first = i;
        }
        return first >= 0
            ? Right<OmniError, int>(first)
            : Left<OmniError, int>(new OmniError(ErrorKind.NotFound,
                $"Timestep {timestep:R} is not one of the schedule's timesteps [{string.Join(", ", state.Timesteps.Select(t => t.ToString("R")))}]. "
                + "Timesteps are matched exactly: pass values taken from the same schedule (same configuration, steps and mu)."));
    }

    /// <summary>The index of every timestep in a batch (one per row), or the first that is not found.</summary>
    public static Either<OmniError, int[]> OfEach(SchedulerState state, IReadOnlyList<float> timesteps)
    {
        var indices = new int[timesteps.Count];
        for (var b = 0; b < timesteps.Count; b++)
        {
            var found = Of(state, timesteps[b]);
            if (found.IsLeft) return found.Map(_ => System.Array.Empty<int>());
            indices[b] = found.IfLeft(-1);
        }
        return Right<OmniError, int[]>(indices);
    }
}
