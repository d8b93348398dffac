using System.Collections.Immutable;
using Omni.Training.Observers;
using Omni.Training.Options;
using Omni.Training.Run;

namespace Omni.Facade.Training;

/// <summary>The observers a run gets by default.</summary>
public static class StandardObservers
{
    /// <summary>
    /// Metrics JSON lines (<c>metrics.jsonl</c>), TensorBoard event files beside them, console progress, plots
    /// (<c>plots/</c>) and sample grids (<c>samples/</c>) under <paramref name="runDirectory"/>.
    /// </summary>
    public static ImmutableArray<ITrainingObserver> For(string runDirectory, TrainingOptions options) =>
    [
        new MetricsObserver(Path.Combine(runDirectory, "metrics.jsonl")),
        new TensorBoardObserver(runDirectory, options.SampleGridEvery, options.GroupSize),
        ProgressObserver.ForConsole(),
        new PicturesObserver(runDirectory, options.SampleGridEvery, options.GroupSize),
    ];
}
