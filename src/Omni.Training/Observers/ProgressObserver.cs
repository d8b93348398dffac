using Omni.Reporting;
using Omni.Training.Run;

namespace Omni.Training.Observers;

/// <summary>
/// A progress line per step (rewritten in place on a terminal) with ETA and the key metrics, and skip reasons, written to
/// <paramref name="writer"/> — the <c>omni</c> CLI's display (<c>new ProgressObserver(Console.Out, !Console.IsOutputRedirected)</c>).
/// Libraries report through <see cref="LoggingObserver"/> instead.
/// </summary>
public sealed class ProgressObserver(TextWriter writer, bool rewriteLine) : ITrainingObserver
{
    // Each objective's own signal appears only when it is logged (Flow-DPPO's mask, DPO's loss and accuracy, NFT's and
    // distillation's losses).
    private static readonly string[] Shown =
    [
        "reward/mean", "reward/std", "actor/kl_loss", "actor/pg_clipfrac", "actor/kl_mask_fraction", "actor/dpo_loss", "actor/implicit_acc",
        "actor/policy_loss", "actor/distill_kl_loss", "actor/distill_fm_mse_loss", "actor/grad_norm",
    ];
    private ConsoleProgress? _progress;

    /// <inheritdoc />
    public void RunStarting(int firstStep, int totalSteps)
    {
        _progress = new ConsoleProgress(writer, totalSteps, rewriteLine);
        if (firstStep > 0) writer.WriteLine($"Resuming at step {firstStep} of {totalSteps}.");
    }

    /// <inheritdoc />
    public void StepCompleted(StepReport report, StepSamples samples)
    {
        _progress?.Report(report.Step + 1,
            Shown.Where(report.Metrics.ContainsKey).Select(k => new KeyValuePair<string, double>(k.Split('/')[^1] == "mean" ? "reward" : k.Split('/')[^1], report.Metrics[k])));
        if (report.SkipReason is { } reason)
        {
            if (rewriteLine) writer.WriteLine();
            writer.WriteLine($"step {report.Step}: {reason}");
        }
    }

    /// <inheritdoc />
    public void CheckpointSaved(int step, string folder)
    {
        if (!rewriteLine) writer.WriteLine($"checkpoint after step {step}: {folder}");
    }

    /// <inheritdoc />
    public void RunFinished(TrainingSummary summary)
    {
        if (rewriteLine) writer.WriteLine();
        writer.WriteLine(summary.Cancelled
            ? $"Stopped after step {summary.StepsCompleted}; resume with the same command (checkpoint: {summary.LastCheckpoint})."
            : $"Finished {summary.StepsCompleted} steps. Last checkpoint: {summary.LastCheckpoint}");
    }
}
