using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>Validation and host-side resolution of an SDE step's inputs (dtypes, shapes, sigmas, noise levels).</summary>
internal static class StepInputs
{
    public static Either<OmniError, Unit> Check(Tensor sample, Tensor modelOutput, NextSample next)
    {
        if (sample.dim() < 2)
            return Shape($"The sample must have a batch dimension and at least one more (rank ≥ 2), got shape {Format(sample.shape)}.");
        if (sample.dtype != ScalarType.Float32)
            return DType($"The sample must be float32, got {sample.dtype}. Scheduler math runs in float32: cast the latents before the step.");
        if (modelOutput.dtype != ScalarType.Float32)
            return DType($"The model output must be float32, got {modelOutput.dtype}. Cast the model's prediction to float32 before the step.");
        if (!sample.shape.SequenceEqual(modelOutput.shape))
            return Shape($"The model output's shape {Format(modelOutput.shape)} differs from the sample's {Format(sample.shape)}.");
        var (name, other) = next switch
        {
            NextSample.OfNoise n => ("noise", n.Noise),
            NextSample.OfPrevSample g => ("previous sample", g.Sample),
            _ => throw new ArgumentOutOfRangeException(nameof(next)),
        };
        if (other.dtype != ScalarType.Float32)
            return DType($"The {name} must be float32, got {other.dtype}.");
        if (!other.shape.SequenceEqual(sample.shape))
            return Shape($"The {name}'s shape {Format(other.shape)} differs from the sample's {Format(sample.shape)}.");
        if (!SameDevice(other, sample) || !SameDevice(modelOutput, sample))
            return Left<OmniError, Unit>(OmniError.Invalid($"All step tensors must be on one device: sample on {sample.device}, model output on {modelOutput.device}, {name} on {other.device}."));
        return Right<OmniError, Unit>(unit);
    }

    /// <summary>(σ, σ') for the batch: one pair for a shared index, one per row for per-sample timesteps.</summary>
    public static Either<OmniError, (float Sigma, float SigmaNext)[]> Rows(SchedulerState state, StepAt at, long batch)
    {
        switch (at)
        {
            case StepAt.OfIndex { Value: var k }:
                if (k < 0 || k >= state.NumInferenceSteps)
                    return Left<OmniError, (float, float)[]>(new OmniError(ErrorKind.NotFound,
                        $"Step index {k} is outside the schedule: valid indices are 0 to {state.NumInferenceSteps - 1} for {state.NumInferenceSteps} inference steps."));
                return new[] { (state.Sigmas[k], state.Sigmas[k + 1]) };
            case StepAt.OfTimesteps { Values: var t }:
                if (!t.is_floating_point())
                    return Left<OmniError, (float, float)[]>(OmniError.Invalid(
                        $"Per-sample timesteps must be floating-point values taken from the schedule, got {t.dtype}. Integer step indices are not timesteps."));
                if (t.numel() != batch)
                    return Left<OmniError, (float, float)[]>(new OmniError(ErrorKind.InvalidShape,
                        $"Per-sample timesteps must have one value per batch row ({batch}), got shape {Format(t.shape)}."));
                var values = HostValues(t);
                return TimestepIndex.OfEach(state, values).Map(indices => indices.Select(i => (state.Sigmas[i], state.Sigmas[i + 1])).ToArray());
            default:
                throw new ArgumentOutOfRangeException(nameof(at));
        }
    }

    /// <summary>η for the batch: one shared value or one per row, each finite and non-negative.</summary>
    public static Either<OmniError, double[]> NoiseLevels(NoiseLevel level, long batch)
    {
        double[] values;
        if (level.PerRow is { } perRow)
        {
            if (perRow.numel() != batch || (perRow.dim() > 1 && perRow.shape.Skip(1).Any(d => d != 1)) || perRow.dim() == 0 && batch != 1)
                return Left<OmniError, double[]>(new OmniError(ErrorKind.InvalidShape,
                    $"A per-row noise level must have shape (B,) or (B, 1, …, 1) with B = {batch}, got {Format(perRow.shape)}."));
            values = HostValues(perRow).Select(v => (double)v).ToArray();
        }
        else
        {
            values = [level.Shared ?? 0.0];
        }
        var bad = values.Where(v => !double.IsFinite(v) || v < 0).ToArray();
        return bad.Length == 0
            ? Right<OmniError, double[]>(values)
            : Left<OmniError, double[]>(OmniError.Invalid($"The noise level must be finite and non-negative, got {string.Join(", ", bad)}."));
    }

    private static bool SameDevice(Tensor a, Tensor b) => a.device_type == b.device_type && a.device_index == b.device_index;

    /// <summary>Copies a small tensor's values to the host as float32 (intermediates are released).</summary>
    internal static float[] HostValues(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }

    private static Either<OmniError, Unit> Shape(string message) => Left<OmniError, Unit>(new OmniError(ErrorKind.InvalidShape, message));
    private static Either<OmniError, Unit> DType(string message) => Left<OmniError, Unit>(new OmniError(ErrorKind.InvalidDType, message));

    internal static string Format(long[] shape) => "(" + string.Join(", ", shape) + ")";
}
