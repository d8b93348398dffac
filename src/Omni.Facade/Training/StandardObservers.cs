using System.Collections.Immutable;
using Omni.Training.Options;
using Omni.Training.Run;

namespace Omni.Facade.Training;

/// <summary>The observers a run gets by default.</summary>
public static class StandardObservers
{
    /// <summary>Metrics JSON lines, console progress, plots and sample grids under <paramref name="runDirectory"/>.</summary>
    public static ImmutableArray<ITrainingObserver> For(string runDirectory, TrainingOptions options) => [];
}
