using Omni.Reporting;
using Omni.Reporting.TensorBoard;
using Omni.Training.Run;

namespace Omni.Training.Observers;

/// <summary>
/// Writes a run to TensorBoard event files in <paramref name="directory"/> (the run folder, beside <c>metrics.jsonl</c>):
/// every step's metrics as scalars under the same names and steps as <c>metrics.jsonl</c>, a histogram of the step's
/// rewards (<c>reward/distribution</c>) and, every <paramref name="gridEvery"/> steps, the grid of rollout images
/// (<c>samples</c>, one row per prompt group) that <see cref="PicturesObserver"/> saves as PNG.
/// </summary>
public sealed class TensorBoardObserver(string directory, int gridEvery, int groupSize) : ITrainingObserver
{
    private TensorBoardLog? _log;

    /// <inheritdoc />
    public void RunStarting(int firstStep, int totalSteps) => _log = TensorBoardLog.Open(directory);

    /// <inheritdoc />
    public void StepCompleted(StepReport report, StepSamples samples)
    {
        if (_log is null) return;
        _log.Scalars(report.Step, report.Metrics.SetItem("window_end", report.Window.End));
        _log.Histogram("reward/distribution", report.Step, [.. samples.Rewards]);
        if (gridEvery > 0 && report.Step % gridEvery == 0 && samples.Images.Count > 0)
            _log.Image("samples", report.Step, SampleGrid.Compose(samples.Images.Take(8 * groupSize).ToList(), columns: groupSize, padding: 2));
    }

    /// <inheritdoc />
    public void RunFinished(TrainingSummary summary) => _log = null;
}
