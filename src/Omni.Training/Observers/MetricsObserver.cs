using Omni.Reporting;
using Omni.Training.Run;

namespace Omni.Training.Observers;

/// <summary>
/// Writes every step's metrics as one JSON line to <c>metrics.jsonl</c> (flushed per line). On resume the lines of steps
/// after the checkpoint are dropped first, so a resumed run's log reads as if it had never stopped.
/// </summary>
public sealed class MetricsObserver(string path) : ITrainingObserver, IDisposable
{
    private MetricsLog? _log;

    /// <summary>The log file.</summary>
    public string Path { get; } = path;

    /// <inheritdoc />
    public void RunStarting(int firstStep, int totalSteps)
    {
        var last = MetricsLog.TruncateAfter(Path, firstStep - 1);
        _log = MetricsLog.Open(Path, elapsedAtStart: last?.ElapsedSeconds ?? 0);
    }

    /// <inheritdoc />
    public void StepCompleted(StepReport report, StepSamples samples)
    {
        var metrics = new Dictionary<string, double>(report.Metrics) { ["window_end"] = report.Window.End };
        _log?.Append(report.Step, metrics);
    }

    /// <inheritdoc />
    public void RunFinished(TrainingSummary summary) => Dispose();

    /// <inheritdoc />
    public void Dispose()
    {
        _log?.Dispose();
        _log = null;
    }
}
