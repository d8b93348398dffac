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
/// The policy-gradient sampling loop shared by rollout adapters: every step runs the SDE step (η inside the
/// window, 0 outside, where it is the Euler step), noise is drawn for every step as the reference does, and the
/// window's latents, log-probs, timesteps and means are recorded in float32. Each step runs in its own
/// <c>DisposeScope</c>, so the model's activations never outlive their step.
/// </summary>
public static class FlowRollout
{
    /// <summary>Runs the loop from <paramref name="initial"/> with the model's velocity <paramref name="velocity"/>(latents, step).</summary>
    public static Either<OmniError, RolloutSteps> Run(
        SchedulerState schedule, SdeSettings sde, SdeWindow window, Tensor initial,
        Func<Tensor, int, Either<OmniError, Tensor>> velocity, IRandomSource stepNoise, bool recordMeans)
    {
        var n = schedule.NumInferenceSteps;
        if (window.Start < 0 || window.End > n || window.Length < 1)
            return Left<OmniError, RolloutSteps>(OmniError.Invalid($"The SDE window [{window.Start}, {window.End}) does not fit a {n}-step schedule."));
        if (initial.dtype != ScalarType.Float32)
            return Left<OmniError, RolloutSteps>(new OmniError(ErrorKind.InvalidDType, $"Rollout latents must be float32, got {initial.dtype}."));

        var latents = new List<Tensor>();
        var logProbs = new List<Tensor>();
        var means = new List<Tensor>();
        var x = initial;
        try
        {
            for (var i = 0; i < n; i++)
            {
                using var scope = NewDisposeScope();
                if (i == window.Start) latents.Add(x);
                var prediction = velocity(x, i);
                if (prediction.IsLeft) return prediction.Map(_ => (RolloutSteps)null!);
                var eta = window.Contains(i) ? sde.NoiseLevel : 0.0;
                var noise = stepNoise.Draw(x.shape, ScalarType.Float32, x.device);
                var step = SdeStep.Sample(schedule, sde.SdeType, StepAt.At(i), x, prediction.IfLeft(() => null!).to(ScalarType.Float32),
                                          eta, NextSample.WithNoise(noise));
                if (step.IsLeft) return step.Map(_ => (RolloutSteps)null!);
                var r = step.IfLeft(() => null!);
                var next = r.PrevSample.DetachFromDisposeScope();
                if (window.Contains(i))
                {
                    latents.Add(next);
                    logProbs.Add(r.LogProb.DetachFromDisposeScope());
                    if (recordMeans) means.Add(r.PrevSampleMean.detach().DetachFromDisposeScope());
                }
                // Reference identity: List.Contains would compare tensor values (slow, and false for NaN, which then freed a recorded latent).
                if (!ReferenceEquals(x, initial) && !latents.Any(l => ReferenceEquals(l, x))) x.Dispose();
                x = next;
            }
            using var results = NewDisposeScope();
            var batch = initial.shape[0];
            var timesteps = tensor(schedule.Timesteps.Skip(window.Start).Take(window.Length).ToArray(), ScalarType.Float32, initial.device)
                .unsqueeze(0).expand(batch, -1).contiguous();
            return new RolloutSteps(
                stack(latents, 1).MoveToOuterDisposeScope(), stack(logProbs, 1).MoveToOuterDisposeScope(),
                timesteps.MoveToOuterDisposeScope(), recordMeans ? stack(means, 1).MoveToOuterDisposeScope() : null,
                x.clone().MoveToOuterDisposeScope());
        }
        finally
        {
            foreach (var t in latents.Concat(logProbs).Concat(means).Append(x).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>())
                if (!ReferenceEquals(t, initial)) t.Dispose();
        }
    }
}
