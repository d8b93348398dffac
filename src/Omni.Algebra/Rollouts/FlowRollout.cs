using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>The recorded part of a rollout (see <see cref="Trajectory"/> for the meaning of each tensor).</summary>
/// <param name="Latents">(B, W+1, …).</param>
/// <param name="LogProbs">(B, W).</param>
/// <param name="Timesteps">(B, W).</param>
/// <param name="PrevSampleMeans">(B, W, …), when recorded.</param>
/// <param name="FinalLatents">(B, …).</param>
public sealed record RolloutSteps(Tensor Latents, Tensor LogProbs, Tensor Timesteps, Tensor? PrevSampleMeans, Tensor FinalLatents);

/// <summary>
/// The sampling loop shared by rollout adapters: every step runs the SDE step (η inside a sample's window, 0 outside, where it
/// is the Euler step), noise is drawn for every step as the reference does, and each sample's window — its latents,
/// log-probs, timesteps and means — is recorded in float32. Samples may have windows of their own (the reference's request
/// batching); all windows have one length W. An empty window (W = 0) is a plain ODE rollout that records only the initial
/// and final latents. Each step runs in its own <c>DisposeScope</c>, so the model's activations never outlive their step; the
/// first error ends the loop and is returned (the recorded tensors are freed).
/// </summary>
public static class FlowRollout
{
    /// <summary>Runs the loop with one window for every sample.</summary>
    public static Either<OmniError, RolloutSteps> Run(
        SchedulerState schedule, SdeSettings sde, SdeWindow window, Tensor initial,
        Func<Tensor, int, Either<OmniError, Tensor>> velocity, IRandomSource stepNoise, bool recordMeans) =>
        Run(schedule, sde, Enumerable.Repeat(window, (int)initial.shape[0]).ToArray(), initial, velocity, stepNoise, recordMeans);

    /// <summary>Runs the loop from <paramref name="initial"/> with the model's velocity <paramref name="velocity"/>(latents, step), one window per row.</summary>
    public static Either<OmniError, RolloutSteps> Run(
        SchedulerState schedule, SdeSettings sde, IReadOnlyList<SdeWindow> windows, Tensor initial,
        Func<Tensor, int, Either<OmniError, Tensor>> velocity, IRandomSource stepNoise, bool recordMeans)
    {
        var n = schedule.NumInferenceSteps;
        var batch = (int)initial.shape[0];
        if (windows.Count != batch)
            return Left<OmniError, RolloutSteps>(OmniError.Invalid($"Expected one SDE window per sample ({batch}), got {windows.Count}."));
        var length = windows[0].Length;
        if (windows.Any(w => w.Length != length))
            return Left<OmniError, RolloutSteps>(OmniError.Invalid("Packed SDE windows must share the same size."));
        if (windows.FirstOrDefault(w => w.Start < 0 || w.End > n || w.Length < 0) is { } bad && bad != default)
            return Left<OmniError, RolloutSteps>(OmniError.Invalid($"The SDE window [{bad.Start}, {bad.End}) does not fit a {n}-step schedule."));
        if (initial.dtype != ScalarType.Float32)
            return Left<OmniError, RolloutSteps>(new OmniError(ErrorKind.InvalidDType, $"Rollout latents must be float32, got {initial.dtype}."));

        var shared = windows.All(w => w == windows[0]);
        long[] sampleShape = [.. initial.shape.Skip(1)];
        // Buffers live in this scope: moved out on success, freed on any failure.
        using var results = NewDisposeScope();
        var latents = zeros([batch, length + 1, .. sampleShape], ScalarType.Float32, initial.device);
        var logProbs = zeros([batch, length], ScalarType.Float32, initial.device);
        var means = recordMeans ? zeros([batch, length, .. sampleShape], ScalarType.Float32, initial.device) : null;
        var x = initial;
        try
        {
            for (var i = 0; i < n; i++)
            {
                using var scope = NewDisposeScope();
                var inside = Enumerable.Range(0, batch).Where(b => windows[b].Contains(i)).ToArray();
                Record(latents, x, Enumerable.Range(0, batch).Where(b => windows[b].Start == i && length > 0).ToArray(), _ => 0, shared);
                var prediction = velocity(x, i);
                if (prediction.IsLeft) return prediction.Map(_ => (RolloutSteps)null!);
                NoiseLevel eta;
                if (shared || inside.Length == 0) eta = inside.Length > 0 ? sde.NoiseLevel : 0.0;
                else
                {
                    var rowShape = Enumerable.Repeat(1L, (int)initial.dim()).ToArray();
                    rowShape[0] = batch;
                    eta = NoiseLevel.Rows(tensor(Enumerable.Range(0, batch).Select(b => windows[b].Contains(i) ? (float)sde.NoiseLevel : 0f).ToArray(),
                                                 ScalarType.Float32, initial.device).reshape(rowShape));
                }
                var noise = stepNoise.Draw(x.shape, ScalarType.Float32, x.device);
                var step = SdeStep.Sample(schedule, sde.SdeType, StepAt.Index(i), x, prediction.IfLeft(() => null!).to(ScalarType.Float32),
                                          eta, NextSample.FromNoise(noise));
                if (step.IsLeft) return step.Map(_ => (RolloutSteps)null!);
                var r = step.IfLeft(() => null!);
                var next = r.PrevSample.detach().DetachFromDisposeScope();
                int Offset(int b) => i - windows[b].Start;
                Record(latents, next, inside, b => Offset(b) + 1, shared);
                Record(logProbs, r.LogProb.detach(), inside, Offset, shared);
                if (means is not null) Record(means, r.PrevSampleMean.detach(), inside, Offset, shared);
                if (!ReferenceEquals(x, initial)) x.Dispose();
                x = next;
            }
            var timesteps = tensor(Enumerable.Range(0, batch).SelectMany(b => schedule.Timesteps.Skip(windows[b].Start).Take(length)).ToArray(),
                                   ScalarType.Float32, initial.device).reshape(batch, length);
            return new RolloutSteps(latents.MoveToOuterDisposeScope(), logProbs.MoveToOuterDisposeScope(), timesteps.MoveToOuterDisposeScope(),
                                    means?.MoveToOuterDisposeScope(), x.clone().MoveToOuterDisposeScope());
        }
        finally
        {
            if (!ReferenceEquals(x, initial)) x.Dispose();
        }
    }

    /// <summary>Copies row b of <paramref name="values"/> into <c>buffer[b, column(b)]</c> for the listed rows.</summary>
    private static void Record(Tensor buffer, Tensor values, int[] rows, Func<int, int> column, bool shared)
    {
        if (rows.Length == 0) return;
        using var scope = NewDisposeScope();
        if (shared && rows.Length == buffer.shape[0])
        {
            buffer.select(1, column(rows[0])).copy_(values);
            return;
        }
        foreach (var b in rows) buffer[b].select(0, column(b)).copy_(values[b]);
    }
}
