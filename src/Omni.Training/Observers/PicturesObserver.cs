using Omni.Reporting;
using Omni.Training.Run;

namespace Omni.Training.Observers;

/// <summary>
/// Pictures of a run: a grid of the step's rollout images every N steps (<c>samples/step-000010.png</c>, one row per prompt
/// group) and PNG plots of reward, KL, clip fraction and grad norm, refreshed at every checkpoint and at the end.
/// </summary>
public sealed class PicturesObserver(string runDirectory, int gridEvery, int groupSize) : ITrainingObserver
{
    /// <summary>The metrics plotted.</summary>
    public static readonly string[] PlottedMetrics = ["reward/mean", "actor/kl_loss", "actor/pg_clipfrac", "actor/grad_norm", "reward/zero_std_group_fraction"];

    /// <inheritdoc />
    public void StepCompleted(StepReport report, StepSamples samples)
    {
        if (gridEvery <= 0 || report.Step % gridEvery != 0 || samples.Images.Count == 0) return;
        var scale = Math.Max(1, 96 / Math.Max(1, samples.Images[0].Width));
        SampleGrid.Save(Path.Combine(runDirectory, "samples", $"step-{report.Step:D6}.png"), samples.Images.Take(8 * groupSize).ToList(),
                        columns: groupSize, padding: 2, scale: scale);
    }

    /// <inheritdoc />
    public void CheckpointSaved(int step, string folder) => Plot();

    /// <inheritdoc />
    public void RunFinished(TrainingSummary summary) => Plot();

    private void Plot()
    {
        var metrics = Path.Combine(runDirectory, "metrics.jsonl");
        if (File.Exists(metrics)) Plots.FromMetrics(metrics, Path.Combine(runDirectory, "plots"), PlottedMetrics);
    }
}
