using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Schedules;

/// <summary>
/// The forward (noising) process of flow matching, diffusers' <c>scale_noise</c>:
/// <c>x_t = σ·noise + (1 − σ)·x</c>, with σ looked up per row.
/// </summary>
public static class ForwardNoising
{
    /// <summary>Noises each row to the sigma of its timestep (matched exactly against the schedule).</summary>
    /// <param name="state">The schedule.</param>
    /// <param name="sample">Clean samples (B, …).</param>
    /// <param name="timesteps">One schedule timestep per row, shape (B,).</param>
    /// <param name="noise">Standard-normal noise shaped like the sample.</param>
    public static Either<OmniError, Tensor> ScaleNoise(SchedulerState state, Tensor sample, Tensor timesteps, Tensor noise)
    {
        if (!timesteps.is_floating_point() || timesteps.numel() != sample.shape[0])
            return Left<OmniError, Tensor>(OmniError.Invalid(
                $"scale_noise needs one floating-point timestep per row ({sample.shape[0]}), got {timesteps.dtype} of shape ({string.Join(", ", timesteps.shape)})."));
        return TimestepIndex.OfEach(state, Sde.StepInputs.HostValues(timesteps))
            .Bind(indices => Noise(state, sample, indices, noise));
    }

    /// <summary>Noises every row to the sigma at schedule position <paramref name="stepIndex"/> (the reference's begin-index path).</summary>
    public static Either<OmniError, Tensor> ScaleNoise(SchedulerState state, Tensor sample, int stepIndex, Tensor noise)
    {
        if (stepIndex < 0 || stepIndex >= state.NumInferenceSteps)
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.NotFound,
                $"Step index {stepIndex} is outside the schedule (0 to {state.NumInferenceSteps - 1})."));
        return Noise(state, sample, Enumerable.Repeat(stepIndex, (int)sample.shape[0]).ToArray(), noise);
    }

    private static Either<OmniError, Tensor> Noise(SchedulerState state, Tensor sample, int[] indices, Tensor noise)
    {
        if (!noise.shape.SequenceEqual(sample.shape))
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.InvalidShape,
                $"The noise's shape ({string.Join(", ", noise.shape)}) differs from the sample's ({string.Join(", ", sample.shape)})."));
        using var scope = NewDisposeScope();
        var rowShape = Enumerable.Repeat(1L, (int)sample.dim()).ToArray();
        rowShape[0] = sample.shape[0];
        var sigma = tensor(indices.Select(i => state.Sigmas[i]).ToArray(), ScalarType.Float32, sample.device)
            .to(sample.dtype).reshape(rowShape);
        var noised = sigma * noise + (1.0 - sigma) * sample;
        return Right<OmniError, Tensor>(noised.MoveToOuterDisposeScope());
    }
}
