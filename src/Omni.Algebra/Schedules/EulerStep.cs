using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Schedules;

/// <summary>
/// The plain (ODE) step of diffusers' <c>FlowMatchEulerDiscreteScheduler.step</c>, without its hidden
/// step counter: <c>x' = x + (σ' − σ)·v</c>, or with <c>stochastic_sampling</c> the re-noised
/// <c>x' = (1 − σ')·(x − σv) + σ'·noise</c>.
/// </summary>
public static class EulerStep
{
    /// <summary>
    /// One step at schedule position <paramref name="stepIndex"/>. Dtypes follow the reference: the sample
    /// is upcast to float32, <c>dt·v</c> keeps the model output's dtype, the sum is float32 and the result
    /// is cast back to the model output's dtype.
    /// </summary>
    /// <param name="state">The schedule.</param>
    /// <param name="stepIndex">The position in the schedule, 0 ≤ index &lt; n.</param>
    /// <param name="sample">x.</param>
    /// <param name="modelOutput">v.</param>
    /// <param name="noise">Standard-normal noise, required exactly when the configuration enables stochastic sampling.</param>
    public static Either<OmniError, Tensor> Step(SchedulerState state, int stepIndex, Tensor sample, Tensor modelOutput, Tensor? noise = null)
    {
        if (stepIndex < 0 || stepIndex >= state.NumInferenceSteps)
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.NotFound,
                $"Step index {stepIndex} is outside the schedule (0 to {state.NumInferenceSteps - 1})."));
        if (!sample.shape.SequenceEqual(modelOutput.shape))
            return Left<OmniError, Tensor>(new OmniError(ErrorKind.InvalidShape,
                $"The model output's shape ({string.Join(", ", modelOutput.shape)}) differs from the sample's ({string.Join(", ", sample.shape)})."));
        if (state.Config.StochasticSampling != noise is not null)
            return Left<OmniError, Tensor>(OmniError.Invalid(state.Config.StochasticSampling
                ? "stochastic_sampling is enabled: pass the noise for the re-noising step."
                : "Noise was passed, but stochastic_sampling is disabled in the scheduler configuration."));

        using var scope = NewDisposeScope();
        var (sigma, sigmaNext) = (state.Sigmas[stepIndex], state.Sigmas[stepIndex + 1]);
        var x = sample.to(ScalarType.Float32);
        Tensor prev;
        if (noise is null)
        {
            // A 0-d float32 dt does not promote the model output: dt·v is computed in v's dtype.
            var dt = tensor(sigmaNext - sigma, ScalarType.Float32, sample.device);
            prev = x + dt * modelOutput;
        }
        else
        {
            var x0 = x - sigma * modelOutput;
            prev = (1f - sigmaNext) * x0 + sigmaNext * noise.to(ScalarType.Float32);
        }
        return Right<OmniError, Tensor>(prev.to(modelOutput.dtype).MoveToOuterDisposeScope());
    }
}
