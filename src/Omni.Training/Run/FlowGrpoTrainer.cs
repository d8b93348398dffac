using System.Collections.Immutable;
using System.Diagnostics;
using Omni.Algebra.Adapters;
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
/// The training loop in one process, for every objective of the registry: rollout (groups, seeded noise, SDE windows) →
/// rewards (overlapping the rollout) → the update of the main loss's flow — reverse trajectory (group advantages, old-policy,
/// reference and teacher passes, policy-gradient update with KL and distillation terms: Flow-GRPO, GRPO-Guard, Flow-DPPO,
/// distillation), paired preference (online Diffusion-DPO) or forward process (DiffusionNFT, with its old policy) → metrics and
/// checkpoints. Deterministic for a seed; a killed run resumed from its latest checkpoint ends with bit-identical weights.
/// </summary>
public sealed class FlowGrpoTrainer : IDisposable
{
    private readonly TrainingSetup _setup;
    private readonly TrainingAdapter _training;
    private readonly RolloutAdapter _rollout;
    private readonly ObjectivePlan _plan;
    private readonly OldPolicy? _old;
    private readonly TorchSharp.Modules.OptimizerHelper _optimizer;
    private readonly Ema? _ema;
    private readonly LearningRateSchedule _learningRate;
    private readonly SeedStreams _seeds;
    private int _updates;
    private int _rewardFailures;

    private FlowGrpoTrainer(TrainingSetup setup, TrainingAdapter training, RolloutAdapter rollout, ObjectivePlan plan)
    {
        _setup = setup;
        (_training, _rollout, _plan) = (training, rollout, plan);
        var o = setup.Options;
        var trainable = setup.Policy.Trainable;
        if (trainable.Count == 0)
            throw new OmniException([OmniError.Invalid("The policy has no trainable parameters (attach LoRA adapters or leave parameters requiring grad).")]);
        _optimizer = optim.AdamW(trainable.Select(p => p.Parameter), o.LearningRate, o.Beta1, o.Beta2, o.AdamEpsilon, o.WeightDecay);
        _ema = o.EmaDecay is { } decay ? new Ema(decay, trainable) : null;
        _old = plan.Flow == LossFlow.ForwardProcess ? new OldPolicy(trainable) : null;
        _learningRate = new LearningRateSchedule(o.LearningRate, o.LearningRateSchedule, o.WarmupSteps, o.MinLearningRateRatio);
        _seeds = new SeedStreams(o.Seed);
    }

    /// <summary>The next step to run (non-zero after a resume).</summary>
    public int NextStep { get; private set; }

    /// <summary>The step a resume started from (0 for a fresh run).</summary>
    public int ResumedFrom { get; private set; }

    /// <summary>The EMA of the trained weights, when enabled.</summary>
    public Ema? Ema => _ema;

    /// <summary>The objectives this run trains with.</summary>
    public ObjectivePlan Objectives => _plan;

    /// <summary>DiffusionNFT's old (sampling) policy; null for other objectives.</summary>
    public OldPolicy? OldPolicy => _old;

    /// <summary>
    /// Validates the setup (see <see cref="TrainingPreflight"/>: options, adapters, objectives and what they need, resume
    /// compatibility), builds the optimizer and, when the run folder has a checkpoint and <see cref="TrainingSetup.Resume"/>
    /// is set, restores it.
    /// </summary>
    /// <exception cref="OmniException">Every problem found, each with a precise message.</exception>
    public static FlowGrpoTrainer Create(TrainingSetup setup)
    {
        var run = TrainingPreflight.For(setup).Check().OrThrow();
        var trainer = new FlowGrpoTrainer(setup with { Options = run.Options }, run.Training, run.Rollout, run.Objectives);
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
        TrainingCheckpoint.Restore(checkpoint, _setup.Policy.Trainable, _optimizer, _ema, _old);
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
            OptimizerUpdates = _updates - updatesBefore, TotalOptimizerUpdates = _updates, SkippedSteps = skipped, LastSkipReason = lastSkip,
        };
        foreach (var observer in _setup.Observers) observer.RunFinished(summary);
        return summary;
    }

    /// <summary>Writes a checkpoint of the steps completed so far and returns its folder.</summary>
    public string Checkpoint()
    {
        var state = new CheckpointState(NextStep, _updates, _setup.Options.Seed, TrainingPreflight.ComparableOptions(_setup.Options),
                                        TrainingPreflight.For(_setup).ModelDescription());
        var folder = TrainingCheckpoint.Save(_setup.RunDirectory, state, _setup.Policy.Trainable, _optimizer, _ema, _setup.Options.KeepCheckpoints, _old);
        foreach (var observer in _setup.Observers) observer.CheckpointSaved(NextStep, folder);
        return folder;
    }

    /// <summary>Runs one training step (the next one) and reports it.</summary>
    public async Task<StepReport> StepAsync(CancellationToken cancellation = default)
    {
        var (o, policy, step) = (_setup.Options, _setup.Policy, NextStep);
        var metrics = ImmutableDictionary.CreateBuilder<string, double>();
        var clock = Stopwatch.StartNew();
        var (window, perSample) = Windows(step);
        var indices = PromptSchedule.IndicesFor(step, o.PromptsPerStep, (int)_setup.Prompts.Count, _seeds);
        var scoring = new List<(int First, Task<RewardEvaluation> Task)>();
        var texts = GroupRollout.SampleTexts(_setup.Prompts, indices, o.GroupSize);
        var images = new List<RgbImage>();
        var latents = new List<Tensor>();   // the reward batches' own copies when there is no decoder, freed once scored
        void StartScoring(int first, Tensor decoded)
        {
            var chunkTexts = texts.Skip(first).Take((int)decoded.shape[0]).ToList();
            RewardBatch batch;
            if (_setup.Decode is null)
            {
                var copy = decoded.detach().cpu().clone().DetachFromDisposeScope();
                latents.Add(copy);
                batch = new RewardBatch([], [.. chunkTexts], [.. chunkTexts.Select(_ => ImmutableDictionary<string, string>.Empty)]) { Latents = copy };
            }
            else
            {
                var chunkImages = RgbImage.FromTensor(decoded);
                images.AddRange(chunkImages);
                batch = RewardBatch.Of(chunkImages, chunkTexts);
            }
            // Not the run's token: stopping finishes the current step (rewards included) and checkpoints it.
            scoring.Add((first, o.OverlapRewards ? Task.Run(() => _setup.Reward(batch, CancellationToken.None)) : _setup.Reward(batch, CancellationToken.None)));
        }
        // DiffusionNFT samples with its old policy (the reference's rollout_adapter=old).
        RolloutBatch RunRollout() => GroupRollout.Run(policy, _rollout, _setup.Prompts, indices, o.GroupSize, o.MicroBatchSize,
            o.SameNoisePerGroup || o.Fast, window, _seeds, step, _setup.Decode, StartScoring, perSample).OrThrow();
        using var rollout = _old is null ? RunRollout() : _old.Use(policy.Trainable, RunRollout);
        metrics["time/rollout_s"] = clock.Elapsed.TotalSeconds;
        var rewardClock = Stopwatch.StartNew();
        RewardEvaluation[] evaluations;
        try
        {
            evaluations = await Task.WhenAll(scoring.Select(s => s.Task)).ConfigureAwait(false);
            _rewardFailures = 0;
        }
        catch (Exception) when (DisposeAll(latents)) { throw; }
        catch (Exception e)
        {
            // Whatever a reward throws (a NaN, a scorer that stays down after its retries, a bug in a custom reward), it costs
            // one step, not the run; three failing steps in a row mean it will not recover, so the run stops with the reason.
            var failure = $"the reward failed ({e.GetType().Name}: {e.Message})";
            if (++_rewardFailures >= 3)
                throw new OmniException([new OmniError(ErrorKind.InvalidValue, $"The reward failed {_rewardFailures} steps in a row; last: {failure}.")]);
            return Finish(step, metrics, clock, $"update skipped: {failure}; weights unchanged", rollout.Windows, images, texts, []);
        }
        DisposeAll(latents);
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
        metrics["rollout/window_start"] = rollout.Windows.Average(w => w.Start);

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
        return Finish(step, metrics, clock, skip, rollout.Windows, images, texts, rewards);
    }

    /// <summary>
    /// The step's SDE window, or the envelope each sample draws its own window from. DPO and DiffusionNFT train on clean latents,
    /// which the reference samples with the ODE: an empty window, unless the options ask for SDE exploration in a window.
    /// </summary>
    private (SdeWindow Window, Algebra.Config.SdeSettings? PerSample) Windows(int step)
    {
        var o = _setup.Options;
        if (o.Window == WindowStrategy.PerSample)
            return (default, _setup.Policy.Config.Sde with { WindowSize = o.WindowSize, WindowRange = (o.WindowRangeStart, o.WindowRangeEnd) });
        if (_plan.Flow != LossFlow.ReverseTrajectory && o.Window == WindowStrategy.Full) return (new SdeWindow(0, 0), null);
        return (o.WindowSchedule.At(step, _setup.Policy.Schedule.NumInferenceSteps).OrThrow(), null);
    }

    private StepReport Finish(int step, ImmutableDictionary<string, double>.Builder metrics, Stopwatch clock, string? skip, IReadOnlyList<SdeWindow> windows,
                              IReadOnlyList<RgbImage> images, IReadOnlyList<string> texts, IReadOnlyList<float> rewards)
    {
        metrics["time/step_s"] = clock.Elapsed.TotalSeconds;
        metrics["skipped"] = skip is null ? 0 : 1;
        NextStep = step + 1;
        var report = new StepReport(step, _setup.Options.Steps, metrics.ToImmutable(), skip, windows[0]) { Windows = [.. windows] };
        var samples = new StepSamples(images, texts, rewards);
        foreach (var observer in _setup.Observers) observer.StepCompleted(report, samples);
        return report;
    }

    private UpdateOutcome Update(RolloutBatch rollout, float[] rewards, ImmutableDictionary<string, double>.Builder metrics)
    {
        var (o, policy) = (_setup.Options, _setup.Policy);
        var context = new UpdateContext(policy, _optimizer, _plan.Loss, _plan.Kl, o, _seeds, NextStep,
                                        u => _learningRate.At(u, o.Steps * o.InnerEpochs * o.MiniBatchesPerEpoch), _updates, _ema) { Distill = _plan.Distill };
        switch (_plan.Flow)
        {
            case LossFlow.PairedPreference:
            {
                var outcome = PreferenceUpdate.Run(context, _training, rollout, rewards);
                _updates += outcome.OptimizerUpdates;
                return outcome;
            }
            case LossFlow.ForwardProcess:
            {
                var outcome = ForwardProcessUpdate.Run(context, _training, _old!, rollout, rewards);
                _updates += outcome.OptimizerUpdates;
                // The reference counts steps from 1 and refreshes after the update of every interval-th step.
                if (outcome.OptimizerUpdates > 0 && OldPolicyRefresh.DecayAt(NextStep + 1, o.OldPolicyUpdateInterval, o.OldPolicyDecay, o.OldPolicyDecaySchedule) is { } decay)
                {
                    _old!.Refresh(decay, policy.Trainable);
                    metrics["old_policy/decay"] = decay;
                }
                return outcome;
            }
            default:
                return ReverseTrajectoryUpdate(context, rollout, rewards, metrics);
        }
    }

    private UpdateOutcome ReverseTrajectoryUpdate(UpdateContext context, RolloutBatch rollout, float[] rewards, ImmutableDictionary<string, double>.Builder metrics)
    {
        var (o, policy) = (_setup.Options, _setup.Policy);
        var (batches, mismatch) = TargetPasses.Compute(policy, rollout, rewards, _plan.Estimator, o, _seeds, NextStep, withReference: _plan.Kl is not null,
                                                       teacher: (_plan.NeedsTeacher, _plan.NeedsTeacherPredictions));
        try
        {
            if (mismatch is { } m) metrics["rollout/old_log_prob_mismatch"] = m;
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
        _old?.Dispose();
    }

    // Frees the tensors and returns false, so it can run inside an exception filter without catching anything.
    private static bool DisposeAll(List<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
        tensors.Clear();
        return false;
    }
}
