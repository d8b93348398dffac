using System.Collections.Immutable;
using Omni.Algebra.Rewards;
using Omni.Algebra.Rollouts;

namespace Omni.Training.Run;

/// <summary>What one training step did: its metrics (the reference's names where it has them) and, if so, why it skipped its update.</summary>
/// <param name="Step">The step number (0-based).</param>
/// <param name="TotalSteps">Steps in the run.</param>
/// <param name="Metrics">Metrics by name: <c>reward/mean</c>, <c>reward/std</c>, <c>reward/zero_std_group_fraction</c>,
/// <c>reward/&lt;name&gt;</c> per component, <c>actor/*</c> loss metrics, <c>actor/grad_norm</c>, <c>actor/lr</c>,
/// <c>actor/first_ratio</c> (1 exactly when on-policy), <c>rollout/old_log_prob_mismatch</c>, <c>time/*</c> seconds.</param>
/// <param name="SkipReason">Why the update was skipped, or null.</param>
/// <param name="Window">The SDE window of the step (the first sample's when each sample draws its own).</param>
public sealed record StepReport(int Step, int TotalSteps, ImmutableDictionary<string, double> Metrics, string? SkipReason, SdeWindow Window)
{
    /// <summary>Each sample's SDE window (all equal to <see cref="Window"/> unless each sample draws its own); empty when unknown.</summary>
    public ImmutableArray<SdeWindow> Windows { get; init; } = [];
}

/// <summary>The step's samples (for grids and inspection).</summary>
/// <param name="Images">Decoded images.</param>
/// <param name="Prompts">Their prompts.</param>
/// <param name="Rewards">Their total rewards.</param>
public sealed record StepSamples(IReadOnlyList<RgbImage> Images, IReadOnlyList<string> Prompts, IReadOnlyList<float> Rewards);

/// <summary>How a run ended.</summary>
/// <param name="StepsCompleted">Training steps completed (including those of earlier, resumed sessions).</param>
/// <param name="ResumedFrom">The step this session started at (0 for a fresh run).</param>
/// <param name="Cancelled">True when cancellation stopped the run early (a checkpoint was written).</param>
/// <param name="LastCheckpoint">The latest checkpoint folder, if any.</param>
public sealed record TrainingSummary(int StepsCompleted, int ResumedFrom, bool Cancelled, string? LastCheckpoint)
{
    /// <summary>Optimizer updates this session took (0 means this session did not change the weights).</summary>
    public int OptimizerUpdates { get; init; }

    /// <summary>Optimizer updates of the whole run, earlier sessions included (0 means the weights never changed).</summary>
    public int TotalOptimizerUpdates { get; init; }

    /// <summary>Steps of this session that skipped their update.</summary>
    public int SkippedSteps { get; init; }

    /// <summary>Why the last skipped step skipped, if any did.</summary>
    public string? LastSkipReason { get; init; }

    /// <summary>Steps this session ran.</summary>
    public int StepsRun => StepsCompleted - ResumedFrom;
}

/// <summary>Receives a run's events (metrics logs, progress displays, plots, sample grids). Every member has a no-op default.</summary>
public interface ITrainingObserver
{
    /// <summary>The run starts at <paramref name="firstStep"/> of <paramref name="totalSteps"/> (non-zero when resumed).</summary>
    void RunStarting(int firstStep, int totalSteps) { }

    /// <summary>A step finished.</summary>
    void StepCompleted(StepReport report, StepSamples samples) { }

    /// <summary>A checkpoint was written.</summary>
    void CheckpointSaved(int step, string folder) { }

    /// <summary>The run ended (normally or cancelled).</summary>
    void RunFinished(TrainingSummary summary) { }
}
