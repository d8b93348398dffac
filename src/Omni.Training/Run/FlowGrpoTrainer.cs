using System.Collections.Immutable;
using System.Diagnostics;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Rewards;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Training;
using Omni.Training.Checkpoints;
using Omni.Training.Options;
using Omni.Training.Rollout;
using Omni.Training.Update;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Training.Run;

/// <summary>
/// The FlowGRPO-family training loop in one process: rollout (groups, seeded noise, SDE window) → rewards (overlapping the
/// rollout) → group advantages → old-policy pass → clipped policy-gradient update (+ KL) → metrics and checkpoints.
/// Deterministic for a seed; a killed run resumed from its latest checkpoint ends with bit-identical weights.
/// </summary>
public sealed class FlowGrpoTrainer : IDisposable
{
    private readonly TrainingSetup _setup;
    private readonly RolloutAdapter _rollout;
    private readonly DiffusionLoss _loss;
    private readonly DiffusionLoss? _kl;
    private readonly AdvantageEstimator _estimator;
    private readonly TorchSharp.Modules.OptimizerHelper _optimizer;
    private readonly Ema? _ema;
    private readonly LearningRateSchedule _learningRate;
    private readonly SeedStreams _seeds;
    private int _updates;
    private int _rewardFailures;

    private FlowGrpoTrainer(TrainingSetup setup, RolloutAdapter rollout, DiffusionLoss loss, DiffusionLoss? kl, AdvantageEstimator estimator)
    {
        _setup = setup;
        (_rollout, _loss, _kl, _estimator) = (rollout, loss, kl, estimator);
        var o = setup.Options;
        var trainable = setup.Policy.Trainable;
        if (trainable.Count == 0)
            throw new OmniException([OmniError.Invalid("The policy has no trainable parameters (attach LoRA adapters or leave parameters requiring grad).")]);
        _optimizer = optim.AdamW(trainable.Select(p => p.Parameter), o.LearningRate, o.Beta1, o.Beta2, o.AdamEpsilon, o.WeightDecay);
        _ema = o.EmaDecay is { } decay ? new Ema(decay, trainable) : null;
        _learningRate = new LearningRateSchedule(o.LearningRate, o.LearningRateSchedule, o.WarmupSteps, o.MinLearningRateRatio);
        _seeds = new SeedStreams(o.Seed);
    }

    /// <summary>The next step to run (non-zero after a resume).</summary>
    public int NextStep { get; private set; }

    /// <summary>The step a resume started from (0 for a fresh run).</summary>
    public int ResumedFrom { get; private set; }

    /// <summary>The EMA of the trained weights, when enabled.</summary>
    public Ema? Ema => _ema;

    /// <summary>
    /// Validates the setup (see <see cref="TrainingPreflight"/>: options, adapters, loss, KL prerequisites, resume
    /// compatibility), builds the optimizer and, when the run folder has a checkpoint and <see cref="TrainingSetup.Resume"/>
    /// is set, restores it.
    /// </summary>
    /// <exception cref="OmniException">Every problem found, each with a precise message.</exception>
    public static FlowGrpoTrainer Create(TrainingSetup setup)
    {
        var run = TrainingPreflight.For(setup).Check().OrThrow();
        var trainer = new FlowGrpoTrainer(setup with { Options = run.Options }, run.Rollout, run.Loss, run.Kl, run.Estimator);
        if (run.ResumeFrom is { } checkpoint)
        {
            try { trainer.Restore(checkpoint); }
            catch { trainer.Dispose(); throw; }
        }
        return trainer;
    }

    private void Restore(string checkpoint)
    {
        var state = TrainingCheckpoint.ReadState(checkpoint);
        TrainingCheckpoint.Restore(checkpoint, _setup.Policy.Trainable, _optimizer, _ema);
        (NextStep, ResumedFrom, _updates) = (state.Step, state.Step, state.OptimizerUpdates);
    }

    /// <summary>Runs the remaining steps; on cancellation finishes the current step, writes a checkpoint and returns.</summary>
    public async Task<TrainingSummary> RunAsync(CancellationToken cancellation = default)
    {
        var o = _setup.Options;
        foreach (var observer in _setup.Observers) observer.RunStarting(NextStep, o.Steps);
        string? last = TrainingCheckpoint.Latest(_setup.RunDirectory);
        var cancelled = false;
        var (updatesBefore, skipped) = (_updates, 0);
        string? lastSkip = null;
        while (NextStep < o.Steps)
        {
            if (cancellation.IsCancellationRequested) { cancelled = true; break; }
            var report = await StepAsync(cancellation).ConfigureAwait(false);
            if (report.SkipReason is { } reason) (skipped, lastSkip) = (skipped + 1, reason);
            var due = o.CheckpointEvery > 0 && NextStep % o.CheckpointEvery == 0;
            if (due || NextStep == o.Steps || cancellation.IsCancellationRequested) last = Checkpoint();
        }
        var summary = new TrainingSummary(NextStep, ResumedFrom, cancelled || NextStep < o.Steps, last)
        {
            OptimizerUpdates = _updates - updatesBefore, SkippedSteps = skipped, LastSkipReason = lastSkip,
        };
        foreach (var observer in _setup.Observers) observer.RunFinished(summary);
        return summary;
    }

    /// <summary>Writes a checkpoint of the steps completed so far and returns its folder.</summary>
    public string Checkpoint()
    {
        var state = new CheckpointState(NextStep, _updates, _setup.Options.Seed, TrainingPreflight.ComparableOptions(_setup.Options),
                                        TrainingPreflight.For(_setup).ModelDescription());
        var folder = TrainingCheckpoint.Save(_setup.RunDirectory, state, _setup.Policy.Trainable, _optimizer, _ema, _setup.Options.KeepCheckpoints);
        foreach (var observer in _setup.Observers) observer.CheckpointSaved(NextStep, folder);
        return folder;
    }

    /// <summary>Runs one training step (the next one) and reports it.</summary>
    public async Task<StepReport> StepAsync(CancellationToken cancellation = default)
    {
        var (o, policy, step) = (_setup.Options, _setup.Policy, NextStep);
        var metrics = ImmutableDictionary.CreateBuilder<string, double>();
        var clock = Stopwatch.StartNew();
        var window = o.WindowSchedule.At(step, policy.Schedule.NumInferenceSteps).OrThrow();
        var indices = PromptSchedule.IndicesFor(step, o.PromptsPerStep, (int)_setup.Prompts.Count, _seeds);
        var scoring = new List<(int First, Task<RewardEvaluation> Task)>();
        var texts = GroupRollout.SampleTexts(_setup.Prompts, indices, o.GroupSize);
        var images = new List<RgbImage>();
        void StartScoring(int first, Tensor decoded)
        {
            var chunkImages = RgbImage.FromTensor(decoded);
            images.AddRange(chunkImages);
            var batch = RewardBatch.Of(chunkImages, texts.Skip(first).Take(chunkImages.Count));
            // Not the run's token: stopping finishes the current step (rewards included) and checkpoints it.
            scoring.Add((first, o.OverlapRewards ? Task.Run(() => _setup.Reward(batch, CancellationToken.None)) : _setup.Reward(batch, CancellationToken.None)));
        }
        using var rollout = GroupRollout.Run(policy, _rollout, _setup.Prompts, indices, o.GroupSize, o.MicroBatchSize,
            o.SameNoisePerGroup || o.Fast, window, _seeds, step, _setup.Decode, StartScoring).OrThrow();
        metrics["time/rollout_s"] = clock.Elapsed.TotalSeconds;
        var rewardClock = Stopwatch.StartNew();
        RewardEvaluation[] evaluations;
        try
        {
            evaluations = await Task.WhenAll(scoring.Select(s => s.Task)).ConfigureAwait(false);
            _rewardFailures = 0;
        }
        catch (Exception e)
        {
            // Whatever a reward throws (a NaN, a scorer that stays down after its retries, a bug in a custom reward), it costs
            // one step, not the run; three failing steps in a row mean it will not recover, so the run stops with the reason.
            var failure = $"the reward failed ({e.GetType().Name}: {e.Message})";
            if (++_rewardFailures >= 3)
                throw new OmniException([new OmniError(ErrorKind.InvalidValue, $"The reward failed {_rewardFailures} steps in a row; last: {failure}.")]);
            return Finish(step, metrics, clock, $"update skipped: {failure}; weights unchanged", window, images, texts, []);
        }
        metrics["time/reward_wait_s"] = rewardClock.Elapsed.TotalSeconds;
        var rewards = evaluations.SelectMany(e => e.Total).ToArray();
        if (rewards.Length != rollout.Count)
            throw new OmniException([OmniError.Invalid($"The reward returned {rewards.Length} scores for {rollout.Count} samples.")]);
        foreach (var name in evaluations.SelectMany(e => e.Components.Keys).Distinct())
            metrics[$"reward/{name}"] = evaluations.SelectMany(e => e.Components.TryGetValue(name, out var v) ? v : []).Average(v => (double)v);
        var statistics = RewardStatistics.Of(rewards, rollout.GroupIds);
        metrics["reward/mean"] = statistics.Mean;
        metrics["reward/std"] = statistics.Std;
        metrics["reward/zero_std_group_fraction"] = statistics.ZeroStdGroupFraction;
        metrics["rollout/window_start"] = window.Start;

        string? skip = null;
        var bad = Array.FindIndex(rewards, r => !float.IsFinite(r));
        if (rollout.Chunks.Any(c => !TensorChecks.AllFinite(c.FinalLatents) || !TensorChecks.AllFinite(c.LogProbs)))
            skip = "update skipped: the rollout produced non-finite latents or log-probs (a diverged model or a bad input); weights unchanged";
        else if (bad >= 0) skip = $"update skipped: the reward of sample {bad} (prompt \"{texts[bad]}\") is {rewards[bad]}; weights unchanged";
        else
        {
            var trainClock = Stopwatch.StartNew();
            var outcome = Update(rollout, rewards, metrics);
            skip = outcome.SkipReason;
            foreach (var (k, v) in outcome.Metrics) metrics[k] = v;
            metrics["time/train_s"] = trainClock.Elapsed.TotalSeconds;
        }
        return Finish(step, metrics, clock, skip, window, images, texts, rewards);
    }

    private StepReport Finish(int step, ImmutableDictionary<string, double>.Builder metrics, Stopwatch clock, string? skip, SdeWindow window,
                              IReadOnlyList<RgbImage> images, IReadOnlyList<string> texts, IReadOnlyList<float> rewards)
    {
        metrics["time/step_s"] = clock.Elapsed.TotalSeconds;
        metrics["skipped"] = skip is null ? 0 : 1;
        NextStep = step + 1;
        var report = new StepReport(step, _setup.Options.Steps, metrics.ToImmutable(), skip, window);
        var samples = new StepSamples(images, texts, rewards);
        foreach (var observer in _setup.Observers) observer.StepCompleted(report, samples);
        return report;
    }

    private UpdateOutcome Update(RolloutBatch rollout, float[] rewards, ImmutableDictionary<string, double>.Builder metrics)
    {
        var (o, policy) = (_setup.Options, _setup.Policy);
        var (batches, mismatch) = TargetPasses.Compute(policy, rollout, rewards, _estimator, o, _seeds, NextStep, withReference: _kl is not null);
        try
        {
            if (mismatch is { } m) metrics["rollout/old_log_prob_mismatch"] = m;
            var context = new UpdateContext(policy, _optimizer, _loss, _kl, o, _seeds, NextStep,
                                            u => _learningRate.At(u, o.Steps * o.InnerEpochs * o.MiniBatchesPerEpoch), _updates, _ema);
            var outcome = PolicyUpdate.Run(context, batches);
            _updates += outcome.OptimizerUpdates;
            return outcome;
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _ema?.Dispose();
    }
}
