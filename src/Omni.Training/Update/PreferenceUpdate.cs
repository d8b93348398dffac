using System.Collections.Immutable;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Schedules;
using Omni.Algebra.Training;
using Omni.Effects.Random;
using Omni.Training.Rollout;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// Online Diffusion-DPO's update (the reference's <c>diffusion_dpo_model</c> engine after <c>DPOLoss.prepare_actor_batch</c>):
/// each prompt's best and worst rollout become an adjacent (chosen, rejected) pair of clean latents; each pair is noised once
/// with shared noise at a shared timestep drawn logit-normally from the scheduler's 1000-step training table; the frozen
/// reference and the policy predict on it, and the DPO loss compares their flow-matching errors. One forward per micro-batch.
/// </summary>
public static class PreferenceUpdate
{
    /// <summary>Runs the update of <paramref name="context"/>'s training step.</summary>
    /// <param name="context">The model, optimizer, loss (<c>dpo</c> or a replacement with its inputs), options and counters.</param>
    /// <param name="adapter">The model's training adapter.</param>
    /// <param name="rollout">The step's rollouts (clean latents in the final latents).</param>
    /// <param name="rewards">One reward per sample.</param>
    public static UpdateOutcome Run(UpdateContext context, TrainingAdapter adapter, RolloutBatch rollout, IReadOnlyList<float> rewards)
    {
        var (policy, options, loss) = (context.Policy, context.Options, context.Loss);
        var pairs = DpoPairing.Select(rollout.GroupIds, rewards);
        if (pairs.Count == 0)
            return new UpdateOutcome(ImmutableDictionary<string, double>.Empty, "update skipped: Online DPO could not build preference pairs; increase GroupSize (actor_rollout_ref.rollout.n)", 0);
        var metrics = new MetricAverages();
        using var scope = NewDisposeScope();
        var batch = ForwardBatch.Gather(rollout.Chunks, pairs);
        var (noise, timesteps, sigmas) = PairNoise(batch.CleanLatents, TrainTable.For(policy.Schedule.Config),
                                                   context.Seeds.For(SeedStreams.Purpose.ForwardNoise, context.Step));
        var noisy = sigmas * noise + (1.0 - sigmas) * batch.CleanLatents;
        var pairRewards = tensor(pairs.Select(i => rewards[i]).ToArray(), ScalarType.Float32, batch.CleanLatents.device);
        var uids = pairs.Select(i => rollout.GroupIds[i]).ToImmutableArray();
        var size = Math.Min(options.MicroBatchSize, pairs.Count);
        var micro = Enumerable.Range(0, (pairs.Count + size - 1) / size).ToArray();
        var perMini = Math.Max(1, (micro.Length + options.MiniBatchesPerEpoch - 1) / options.MiniBatchesPerEpoch);
        var updates = 0;
        string? failure = null;
        policy.Module.train();
        try
        {
            foreach (var mini in micro.Chunk(perMini))
            {
                using (NewDisposeScope()) context.Optimizer.zero_grad();
                foreach (var m in mini)
                {
                    using var microScope = NewDisposeScope();
                    var (start, length) = ((long)m * size, (long)Math.Min(size, pairs.Count - m * size));
                    var rows = batch.Slice(start, length);
                    var request = rows.Request(noisy.narrow(0, start, length), timesteps.narrow(0, start, length));
                    Tensor reference;
                    using (no_grad()) reference = policy.WithReference(d => AdapterCalls.Predict(adapter, d, policy.Config, request, 0)).OrThrow().detach();
                    var prediction = AdapterCalls.Predict(adapter, policy.Denoiser, policy.Config, request, 0).OrThrow();
                    var outputs = ImmutableDictionary<string, Tensor>.Empty
                        .Add("noise_pred", prediction).Add("noise", noise.narrow(0, start, length)).Add("latent", rows.CleanLatents);
                    var data = ImmutableDictionary<string, Tensor>.Empty
                        .Add("ref_noise_pred", reference).Add("sample_level_rewards", pairRewards.narrow(0, start, length));
                    var inputs = new LossInputs(outputs, data, options.LossSettings) { GroupIds = uids.Skip((int)start).Take((int)length).ToImmutableArray() };
                    var result = ObjectiveRegistry.ValidateInputs(loss, inputs).Bind(loss.Compute).OrThrow();
                    metrics.AddAll(result.Metrics);
                    if (!TensorChecks.AllFinite(result.Loss)) { failure = $"the loss is not finite (micro-batch {m})"; break; }
                    metrics.Add("actor/pg_loss", result.Loss.detach().item<float>());
                    (result.Loss / mini.Length).backward();
                }
                if (failure is null)
                    PolicyUpdate.ApplyGradients(context, context.UpdatesSoFar + updates, metrics).IfLeft(reason => failure = reason);
                using (NewDisposeScope()) context.Optimizer.zero_grad();
                if (failure is not null) break;
                updates++;
            }
        }
        finally
        {
            policy.Module.eval();
        }
        metrics.Add("actor/pairs", pairs.Count / 2);
        return new UpdateOutcome(metrics.Averages().SetItem("actor/optimizer_steps", updates),
                                 failure is null ? null : $"update skipped: {failure}; weights left unchanged by it", updates);
    }

    /// <summary>
    /// The reference's <c>sample_noise_and_timesteps</c> with an explicit generator: noise for each pair (P, …), then
    /// <c>u = sigmoid(z)</c>, <c>z ~ N(0, 1)</c> of size P, the table index <c>⌊u·N⌋</c>; both shared by a pair's two rows.
    /// Returns the noise (2P, …), the timesteps (2P,) and the sigmas shaped (2P, 1, …) for noising.
    /// </summary>
    public static (Tensor Noise, Tensor Timesteps, Tensor Sigmas) PairNoise(Tensor cleanLatents, TrainTable table, long seed)
    {
        var rows = cleanLatents.shape[0];
        if (rows % 2 != 0) throw new OmniException([OmniError.Invalid("DPO flow training expects an even batch laid out as [chosen0, rejected0, ...].")]);
        using var generator = Generators.Seeded(seed);
        using var scope = NewDisposeScope();
        long[] pairShape = [rows / 2, .. cleanLatents.shape.Skip(1)];
        var pairNoise = randn(pairShape, ScalarType.Float32, CPU, generator: generator);
        var u = randn([rows / 2], ScalarType.Float32, CPU, generator: generator).sigmoid();
        var n = table.Timesteps.Length;
        // ⌊u·N⌋ reaches N when u rounds to 1 in float32; the last entry is the nearest valid one.
        var index = (u * n).floor().to(ScalarType.Int64).clamp(0, n - 1).data<long>().ToArray();
        var timesteps = tensor(index.Select(i => table.Timesteps[(int)i]).ToArray(), ScalarType.Float32).repeat_interleave(2);
        var rowShape = Enumerable.Repeat(1L, (int)cleanLatents.dim()).ToArray();
        rowShape[0] = rows;
        var sigmas = tensor(index.Select(i => table.Sigmas[(int)i]).ToArray(), ScalarType.Float32).repeat_interleave(2).reshape(rowShape);
        var device = cleanLatents.device;
        return (pairNoise.repeat_interleave(2, 0).to(device).MoveToOuterDisposeScope(), timesteps.to(device).MoveToOuterDisposeScope(),
                sigmas.to(device).MoveToOuterDisposeScope());
    }
}
