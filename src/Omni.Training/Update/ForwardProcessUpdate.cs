using System.Collections.Immutable;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Training;
using Omni.Effects.Random;
using Omni.Training.Rollout;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// DiffusionNFT's update (the reference's <c>DiffusionNFTLoss.prepare_actor_batch</c> and <c>diffusion_nft_model</c> engine):
/// group advantages of the rewards become reward probabilities; each sample's clean latent is re-noised at a seeded choice of
/// the schedule's timesteps, <c>x_t = (1 − t)·x₀ + t·ε</c> with <c>t = timestep/1000</c> (the timestep truncated to an
/// integer, as the reference stores it); the old (sampling) policy, the current one and — when <c>ref_kl_coef &gt; 0</c> — the
/// reference predict on it, and the NFT loss is back-propagated per timestep with the loss divided by micro-batches × timesteps.
/// </summary>
public static class ForwardProcessUpdate
{
    /// <summary>Runs the update of <paramref name="context"/>'s training step.</summary>
    /// <param name="context">The model, optimizer, loss (<c>diffusion_nft</c> or a replacement with its inputs), options and counters.</param>
    /// <param name="adapter">The model's training adapter.</param>
    /// <param name="old">The old policy (swapped in for <c>old_prediction</c> when it differs from the current one).</param>
    /// <param name="rollout">The step's rollouts (clean latents in the final latents).</param>
    /// <param name="rewards">One reward per sample.</param>
    public static UpdateOutcome Run(UpdateContext context, TrainingAdapter adapter, OldPolicy old, RolloutBatch rollout, IReadOnlyList<float> rewards)
    {
        var (policy, options, loss, seeds, step) = (context.Policy, context.Options, context.Loss, context.Seeds, context.Step);
        var metrics = new MetricAverages();
        using var scope = NewDisposeScope();
        var rows = Enumerable.Range(0, rollout.Count).ToArray();
        var batch = ForwardBatch.Gather(rollout.Chunks, rows);
        var device = batch.CleanLatents.device;
        var settings = new AdvantageSettings { Epsilon = options.AdvantageEpsilon, NormalizeByStd = options.NormalizeAdvantageByStd, GlobalStd = options.GlobalStd };
        var advantages = NftBatchPreparation.GroupAdvantages(tensor(rewards.ToArray(), ScalarType.Float32), rollout.GroupIds, settings);
        var rewardProbability = NftBatchPreparation.RewardProbability(advantages, options.AdvantageClipMax, options.AdvantageMode).to(device);
        var schedule = policy.Schedule.TimestepsTensor().unsqueeze(0).expand(rollout.Count, -1);
        Tensor selected;
        // The reference seeds this choice with actor.data_loader_seed at every step (so it repeats step after step).
        using (var generator = Generators.Seeded(options.Seed)) selected = NftBatchPreparation.SelectTrainTimesteps(schedule, options.TimestepFraction, generator);
        var columns = (int)selected.shape[1];
        var size = Math.Min(options.MicroBatchSize, rollout.Count);
        var micro = Enumerable.Range(0, (rollout.Count + size - 1) / size).ToArray();
        var perMini = Math.Max(1, (micro.Length + options.MiniBatchesPerEpoch - 1) / options.MiniBatchesPerEpoch);
        var trainable = policy.Trainable;
        var withReference = options.RefKlCoefficient > 0;
        var updates = 0;
        string? failure = null;
        policy.Module.train();
        try
        {
            for (var epoch = 0; epoch < options.InnerEpochs && failure is null; epoch++)
            {
                foreach (var mini in micro.Chunk(perMini))
                {
                    using (NewDisposeScope()) context.Optimizer.zero_grad();
                    foreach (var m in mini)
                    {
                        var (start, length) = ((long)m * size, (long)Math.Min(size, rollout.Count - m * size));
                        for (var s = 0; s < columns && failure is null; s++)
                        {
                            using var microScope = NewDisposeScope();
                            var part = batch.Slice(start, length);
                            var x0 = part.CleanLatents;
                            var timestep = selected.select(1, s).narrow(0, start, length).to(ScalarType.Float32).to(device);
                            var rowShape = Enumerable.Repeat(1L, (int)x0.dim()).ToArray();
                            rowShape[0] = length;
                            var t = (timestep / 1000.0).reshape(rowShape);
                            Tensor noise;
                            using (var generator = Generators.Seeded(seeds.For(SeedStreams.Purpose.ForwardNoise, step, (epoch * micro.Length + m) * columns + s)))
                                noise = randn(x0.shape, ScalarType.Float32, CPU, generator: generator).to(device);
                            var xt = (1.0 - t) * x0 + t * noise;
                            var request = part.Request(xt, timestep);
                            Tensor? oldPrediction = null;
                            if (!old.MatchesCurrent)
                                using (no_grad()) oldPrediction = old.Use(trainable, () => AdapterCalls.Predict(adapter, policy.Denoiser, policy.Config, request, s)).OrThrow().detach();
                            var prediction = AdapterCalls.Predict(adapter, policy.Denoiser, policy.Config, request, s).OrThrow();
                            Tensor reference;
                            if (withReference)
                                using (no_grad()) reference = policy.WithReference(d => AdapterCalls.Predict(adapter, d, policy.Config, request, s)).OrThrow().detach();
                            else reference = prediction.detach();
                            var outputs = ImmutableDictionary<string, Tensor>.Empty
                                .Add("forward_prediction", prediction).Add("old_prediction", oldPrediction ?? prediction.detach())
                                .Add("ref_forward_prediction", reference).Add("x0", x0).Add("xt", xt).Add("t_expanded", t);
                            var data = ImmutableDictionary<string, Tensor>.Empty.Add("reward_prob", rewardProbability.narrow(0, start, length));
                            var result = ObjectiveRegistry.ValidateInputs(loss, new LossInputs(outputs, data, options.LossSettings)).Bind(loss.Compute).OrThrow();
                            // Without a reference pass the reference term is not measured (it would read 0).
                            metrics.AddAll(withReference ? result.Metrics : result.Metrics.Remove("actor/ref_kl_loss"));
                            if (!TensorChecks.AllFinite(result.Loss)) { failure = $"the loss is not finite at timestep column {s} (micro-batch {m})"; break; }
                            (result.Loss / (mini.Length * columns)).backward();
                        }
                        if (failure is not null) break;
                    }
                    if (failure is null)
                        PolicyUpdate.ApplyGradients(context, context.UpdatesSoFar + updates, metrics).IfLeft(reason => failure = reason);
                    using (NewDisposeScope()) context.Optimizer.zero_grad();
                    if (failure is not null) break;
                    old.CurrentChanged();
                    updates++;
                }
            }
        }
        finally
        {
            policy.Module.eval();
        }
        metrics.Add("actor/train_timesteps", columns);
        return new UpdateOutcome(metrics.Averages().SetItem("actor/optimizer_steps", updates), failure is null ? null : $"update skipped: {failure}; weights left unchanged by it", updates);
    }
}
