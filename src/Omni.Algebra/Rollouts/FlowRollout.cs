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
/// <c>DisposeScope</c>, so the model's activations never outlive their step; the first error ends the loop and is returned.
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

        using var recording = new Recording(initial, recordMeans);
        Either<OmniError, Tensor> Advance(Tensor x, int i)
        {
            using var scope = NewDisposeScope();
            var inWindow = window.Contains(i);
            if (i == window.Start) recording.Latents.Add(x);
            return from prediction in velocity(x, i)
                   let noise = stepNoise.Draw(x.shape, ScalarType.Float32, x.device)
                   from step in SdeStep.Sample(schedule, sde.SdeType, StepAt.At(i), x, prediction.to(ScalarType.Float32),
                                               inWindow ? sde.NoiseLevel : 0.0, NextSample.WithNoise(noise))
                   select recording.Keep(x, step, inWindow);
        }
        return Enumerable.Range(0, n)
            .Aggregate(Right<OmniError, Tensor>(initial), (current, i) => current.Bind(x => Advance(x, i)))
            .Map(final => recording.Finish(final, schedule, window));
    }

    /// <summary>The tensors a rollout keeps between steps; everything but the caller's initial latent is disposed at the end.</summary>
    private sealed class Recording(Tensor initial, bool recordMeans) : IDisposable
    {
        private Tensor? _current;

        public List<Tensor> Latents { get; } = [];

        private List<Tensor> LogProbs { get; } = [];

        private List<Tensor> Means { get; } = [];

        /// <summary>Takes the step's next latent out of the step's scope, records the window's values, frees the previous latent.</summary>
        public Tensor Keep(Tensor previous, StepResult step, bool inWindow)
        {
            var next = step.PrevSample.DetachFromDisposeScope();
            if (inWindow)
            {
                Latents.Add(next);
                LogProbs.Add(step.LogProb.DetachFromDisposeScope());
                if (recordMeans) Means.Add(step.PrevSampleMean.detach().DetachFromDisposeScope());
            }
            // Reference identity: List.Contains would compare tensor values (slow, and false for NaN, which then freed a recorded latent).
            if (!ReferenceEquals(previous, initial) && !Latents.Any(l => ReferenceEquals(l, previous))) previous.Dispose();
            _current = next;
            return next;
        }

        /// <summary>Stacks the recorded window into new tensors (the kept ones are freed with the recording).</summary>
        public RolloutSteps Finish(Tensor final, SchedulerState schedule, SdeWindow window)
        {
            using var results = NewDisposeScope();
            var batch = initial.shape[0];
            var timesteps = tensor(schedule.Timesteps.Skip(window.Start).Take(window.Length).ToArray(), ScalarType.Float32, initial.device)
                .unsqueeze(0).expand(batch, -1).contiguous();
            return new RolloutSteps(
                stack(Latents, 1).MoveToOuterDisposeScope(), stack(LogProbs, 1).MoveToOuterDisposeScope(),
                timesteps.MoveToOuterDisposeScope(), recordMeans ? stack(Means, 1).MoveToOuterDisposeScope() : null,
                final.clone().MoveToOuterDisposeScope());
        }

        public void Dispose()
        {
            var current = _current is null ? [] : new[] { _current };
            foreach (var t in Latents.Concat(LogProbs).Concat(Means).Concat(current).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>())
                if (!ReferenceEquals(t, initial)) t.Dispose();
        }
    }
}
