using System.Collections.Immutable;
using Omni.Training.Observers;
using Omni.Training.Options;
using Omni.Training.Run;

namespace Omni.Facade.Training;

/// <summary>The observers a run gets by default.</summary>
public static class StandardObservers
{
    /// <summary>
    /// Metrics JSON lines (<c>metrics.jsonl</c>), TensorBoard event files beside them, plots (<c>plots/</c>) and sample
    /// grids (<c>samples/</c>) under <paramref name="runDirectory"/>, and the run's progress through
    /// <paramref name="loggers"/> (<see cref="LoggingObserver"/>).
    /// </summary>
    public static ImmutableArray<ITrainingObserver> For(string runDirectory, TrainingOptions options, Microsoft.Extensions.Logging.ILoggerFactory loggers) =>
    [
        new MetricsObserver(Path.Combine(runDirectory, "metrics.jsonl")),
        new TensorBoardObserver(runDirectory, options.SampleGridEvery, options.GroupSize),
        new LoggingObserver(loggers),
        new PicturesObserver(runDirectory, options.SampleGridEvery, options.GroupSize),
    ];
}
