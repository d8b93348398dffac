using System.Collections.Immutable;
using System.Diagnostics;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Rewards;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Training;
using Omni.Effects.Distributed;
using Omni.Training.Checkpoints;
using Omni.Training.Distributed;
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
    private readonly Omni.Training.Precision.MixedPrecision _precision;
    private readonly LearningRateSchedule _learningRate;
    private readonly SeedStreams _seeds;
    private readonly RankShare _share;
    private int _updates;
    private int _rewardFailures;

    private FlowGrpoTrainer(TrainingSetup setup, TrainingAdapter training, RolloutAdapter rollout, ObjectivePlan plan, RankShare share)
    {
        _setup = setup;
        _share = share;
        (_training, _rollout, _plan) = (training, rollout, plan);
        var o = setup.Options;
        if (setup.Policy.Trainable.Count == 0)
            throw new OmniException([OmniError.Invalid("The policy has no trainable parameters (attach LoRA adapters or leave parameters requiring grad).")]);
        // Under bf16-mixed the model (and a frozen reference or distillation teacher) compute in bfloat16; the optimizer, the
        // EMA, DiffusionNFT's old policy and checkpoints see the float32 masters. Under float32 the masters are the trainable
        // parameters themselves. Under FSDP the float32 shards are already the masters and the gathers make the bf16 compute
        // copies (ShardingPrecision.Bf16Compute), so nothing is cast here: casting a sharded module would replace the shard
        // parameters behind FullyShardedModule. (Its reference and teacher are ShardedDenoisers, not modules, so none is cast.)
        var parallel = setup.Policy.Parallel;
        _precision = Omni.Training.Precision.MixedPrecision.Prepare(setup.Policy.Module,
            parallel.Mode == ShardingMode.Fsdp ? Omni.Algebra.Devices.TrainingPrecision.Float32 : o.Precision,
            setup.Policy.Reference as nn.Module, setup.Policy.Teacher as nn.Module);
        var trainable = _precision.Masters;
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

    /// <summary>The run's weights by precision: float32 masters and, under bf16-mixed, the bfloat16 model they feed.</summary>
    public Omni.Training.Precision.MixedPrecision Precision => _precision;

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
        var share = setup.Policy.Parallel.Share(run.Options).OrThrow();
        var trainer = new FlowGrpoTrainer(setup with { Options = run.Options }, run.Training, run.Rollout, run.Objectives, share);
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
        CheckpointSharding.Restore(checkpoint, _setup.Policy.Parallel, _precision.Masters, _optimizer, _ema, _old);
        _precision.Publish();
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
        var parallel = _setup.Policy.Parallel;
        // Every rank must stop after the same step (or the others would wait in a collective): a stop request on any rank
        // stops them all.
        while (NextStep < o.Steps)
        {
            if (parallel.AnyRank(cancellation.IsCancellationRequested)) { cancelled = true; break; }
            var report = await StepAsync(cancellation).ConfigureAwait(false);
            if (report.SkipReason is { } reason) (skipped, lastSkip) = (skipped + 1, reason);
            var due = o.CheckpointEvery > 0 && NextStep % o.CheckpointEvery == 0;
            if (parallel.AnyRank(cancellation.IsCancellationRequested) || due || NextStep == o.Steps) last = Checkpoint();
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
        var folder = CheckpointSharding.Save(_setup.RunDirectory, state, _setup.Policy.Parallel, _precision.Masters, _optimizer, _ema,
                                             _setup.Options.KeepCheckpoints, _old);
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
        var parallel = policy.Parallel;
        // A data-parallel rank rolls out its own run of whole prompt groups; every draw still derives from global indices.
        var indices = PromptSchedule.IndicesFor(step, o.PromptsPerStep, (int)_setup.Prompts.Count, _seeds)
            .Skip(_share.FirstPrompt).Take(_share.PromptCount).ToList();
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
        RolloutBatch RunRollout() => GroupRollout.Run(policy, _rollout, _setup.Prompts, indices, o.GroupSize, _share.MicroBatchSize,
            o.SameNoisePerGroup || o.Fast, window, _seeds, step, _setup.Decode, StartScoring, perSample, _share.FirstSample).OrThrow();
        using var rollout = _old is null ? RunRollout() : _old.Use(policy.Trainable, RunRollout);
        metrics["time/rollout_s"] = clock.Elapsed.TotalSeconds;
        var rewardClock = Stopwatch.StartNew();
        RewardEvaluation[] evaluations = [];
        string? rewardFailure = null;
        try
        {
            evaluations = await Task.WhenAll(scoring.Select(s => s.Task)).ConfigureAwait(false);
        }
        catch (Exception) when (DisposeAll(latents)) { throw; }
        catch (Exception e)
        {
            rewardFailure = $"the reward failed ({e.GetType().Name}: {e.Message})";
        }
        // Whatever a reward throws (a NaN, a scorer that stays down after its retries, a bug in a custom reward), it costs
        // one step on every rank, not the run; three failing steps in a row mean it will not recover, so the run stops with
        // the reason.
        if (parallel.Agree(rewardFailure) is { } failure)
        {
            if (++_rewardFailures >= 3)
                throw new OmniException([new OmniError(ErrorKind.InvalidValue, $"The reward failed {_rewardFailures} steps in a row; last: {failure}.")]);
            return Finish(step, metrics, clock, $"update skipped: {failure}; weights unchanged", rollout.Windows, images, texts, []);
        }
        _rewardFailures = 0;
        DisposeAll(latents);
        metrics["time/reward_wait_s"] = rewardClock.Elapsed.TotalSeconds;
        var rewards = evaluations.SelectMany(e => e.Total).ToArray();
        if (rewards.Length != rollout.Count)
            throw new OmniException([OmniError.Invalid($"The reward returned {rewards.Length} scores for {rollout.Count} samples.")]);
        var components = evaluations.SelectMany(e => e.Components.Keys).Distinct().ToDictionary(
            name => $"reward/{name}", name => evaluations.SelectMany(e => e.Components.TryGetValue(name, out var v) ? v : []).Average(v => (double)v));
        foreach (var (name, value) in parallel.MeanOverRanks(components)) metrics[name] = value;
        // Group statistics and advantages see the whole step: every rank's rewards, in global sample order.
        var localRewards = rewards;
        rewards = parallel.GatherRewards(rewards);
        var statistics = RewardStatistics.Of(rewards, GroupRollout.GroupIds(step, 0, rewards.Length, o.GroupSize));
        metrics["reward/mean"] = statistics.Mean;
        metrics["reward/std"] = statistics.Std;
        metrics["reward/zero_std_group_fraction"] = statistics.ZeroStdGroupFraction;
        metrics["rollout/window_start"] = rollout.Windows.Average(w => w.Start);

        string? skip = null;
        var bad = Array.FindIndex(localRewards, r => !float.IsFinite(r));
        // One batched read for the whole rollout's finiteness.
        if (!TensorChecks.AllFinite(rollout.Chunks.SelectMany(c => new[] { c.FinalLatents, c.LogProbs })))
            skip = "the rollout produced non-finite latents or log-probs (a diverged model or a bad input)";
        else if (bad >= 0) skip = $"the reward of sample {_share.FirstSample + bad} (prompt \"{texts[bad]}\") is {localRewards[bad]}";
        skip = parallel.Agree(skip) is { } reason ? $"update skipped: {reason}; weights unchanged" : null;
        if (skip is null)
        {
            var trainClock = Stopwatch.StartNew();
            var outcome = Update(rollout, rewards, metrics);
            skip = outcome.SkipReason;
            foreach (var (k, v) in parallel.MeanOverRanks(outcome.Metrics)) metrics[k] = v;
            metrics["time/train_s"] = trainClock.Elapsed.TotalSeconds;
        }
        return Finish(step, metrics, clock, skip, rollout.Windows, images, texts, localRewards);
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
                                        u => _learningRate.At(u, o.Steps * o.InnerEpochs * o.MiniBatchesPerEpoch), _updates, _ema, _precision) { Distill = _plan.Distill };
        switch (_plan.Flow)
        {
            case LossFlow.PairedPreference:
            {
                // Pairs never leave a prompt group, so each rank pairs its own groups (with its own rewards).
                var outcome = PreferenceUpdate.Run(context, _training, rollout, rewards[_share.FirstSample..(_share.FirstSample + rollout.Count)]);
                _updates += outcome.OptimizerUpdates;
                return outcome;
            }
            case LossFlow.ForwardProcess:
            {
                var outcome = ForwardProcessUpdate.Run(context, _training, _old!, rollout, rewards, _share.FirstSample);
                _updates += outcome.OptimizerUpdates;
                // The reference counts steps from 1 and refreshes after the update of every interval-th step.
                if (outcome.OptimizerUpdates > 0 && OldPolicyRefresh.DecayAt(NextStep + 1, o.OldPolicyUpdateInterval, o.OldPolicyDecay, o.OldPolicyDecaySchedule) is { } decay)
                {
                    _old!.Refresh(decay, _precision.Masters);
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
                                                       teacher: (_plan.NeedsTeacher, _plan.NeedsTeacherPredictions), firstSample: _share.FirstSample);
        try
        {
            if (mismatch is { } m) metrics["rollout/old_log_prob_mismatch"] = policy.Parallel.Collectives.ReduceValues([m], ReduceOp.Max)[0];
            var outcome = PolicyUpdate.Run(context, batches);
            _updates += outcome.OptimizerUpdates;
            return outcome;
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
    }

    /// <summary>Bytes of parameters, gradients and optimizer state this rank holds (shards under FSDP).</summary>
    public TrainingMemory Memory()
    {
        static long Bytes(Tensor t) => t.numel() * t.ElementSize;
        var policy = _setup.Policy;
        static long Frozen(IDenoiser? denoiser) => denoiser?.Unwrap() is nn.Module frozen ? frozen.parameters().Sum(Bytes) : 0;
        var trainable = policy.Trainable.Sum(p => Bytes(p.Parameter));
        var moments = OptimizerMoments.Of(_optimizer).Sum(s => Bytes(s.exp_avg) + Bytes(s.exp_avg_sq));
        // DiffusionNFT's old policy is one more copy of the trained tensors (shards under FSDP).
        var old = _old?.Weights.Values.Sum(Bytes) ?? 0;
        return new TrainingMemory(policy.Module.parameters().Sum(Bytes) + Frozen(policy.Reference) + Frozen(policy.Teacher) + old, trainable, moments);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _ema?.Dispose();
        _precision.Dispose();
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
