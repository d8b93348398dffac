using Microsoft.Extensions.Logging;
using Omni.Training.Run;

namespace Omni.Training.Observers;

/// <summary>
/// A run's events through <c>Microsoft.Extensions.Logging</c>: start or resume, every step's key metrics (category
/// <see cref="ProgressCategory"/>, Information), skipped updates (Warning), checkpoints and the end (category
/// <see cref="RunCategory"/>, Information). Hosts choose where it goes and how much of it through their logging
/// configuration.
/// </summary>
public sealed class LoggingObserver : ITrainingObserver
{
    /// <summary>The category of the per-step lines.</summary>
    public const string ProgressCategory = "Omni.Training.Progress";

    /// <summary>The category of run-level events.</summary>
    public const string RunCategory = "Omni.Training.Run";

    private static readonly string[] Shown = ["reward/mean", "reward/std", "actor/kl_loss", "actor/pg_clipfrac", "actor/grad_norm"];
    private readonly ILogger _progress;
    private readonly ILogger _run;
    private int _total;

    /// <summary>Logs through <paramref name="loggers"/>.</summary>
    public LoggingObserver(ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        _progress = loggers.CreateLogger(ProgressCategory);
        _run = loggers.CreateLogger(RunCategory);
    }

    /// <inheritdoc />
    public void RunStarting(int firstStep, int totalSteps)
    {
        _total = totalSteps;
        if (firstStep > 0) _run.LogInformation("Resuming at step {Step} of {Total}", firstStep, totalSteps);
        else _run.LogInformation("Training {Total} steps", totalSteps);
    }

    /// <inheritdoc />
    public void StepCompleted(StepReport report, StepSamples samples)
    {
        if (_progress.IsEnabled(LogLevel.Information))
        {
            var metrics = string.Join(", ", Shown.Where(report.Metrics.ContainsKey).Select(k => $"{k} {report.Metrics[k]:G4}"));
            _progress.LogInformation("Step {Step}/{Total}: {Metrics}", report.Step + 1, _total, metrics);
        }
        if (report.SkipReason is { } reason) _run.LogWarning("Step {Step}: {Reason}", report.Step, reason);
    }

    /// <inheritdoc />
    public void CheckpointSaved(int step, string folder) => _run.LogInformation("Checkpoint after step {Step}: {Folder}", step, folder);

    /// <inheritdoc />
    public void RunFinished(TrainingSummary summary)
    {
        if (summary.Cancelled)
            _run.LogWarning("Stopped after step {Steps}; the checkpoint {Checkpoint} resumes it", summary.StepsCompleted, summary.LastCheckpoint);
        else
            _run.LogInformation("Finished {Steps} steps; last checkpoint {Checkpoint}", summary.StepsCompleted, summary.LastCheckpoint);
    }
}
