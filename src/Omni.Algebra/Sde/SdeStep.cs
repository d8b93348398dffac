using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using TorchSharp;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// VeRL-Omni's <c>sample_previous_step</c> as a pure function of an immutable schedule: one reverse SDE
/// step with the log-probability of its result. Nothing is mutated and nothing random happens here —
/// the step index is an argument and the noise comes in as a tensor (see <c>Omni.Effects.Random</c>).
/// </summary>
public static class SdeStep
{
    private static readonly float LogSqrtTwoPi = MathF.Log(MathF.Sqrt(2f * MathF.PI));

    /// <summary>
    /// Takes one step of <paramref name="type"/> from <paramref name="sample"/> with velocity
    /// <paramref name="modelOutput"/>. Returns the previous sample, its log-probability (mean over the
    /// non-batch dimensions), the Gaussian mean, <c>std_dev_t</c> and <c>√−dt</c>; or an error for
    /// non-float32 inputs, mismatched shapes, a step outside the schedule or a timestep not in it.
    /// </summary>
    /// <param name="state">The schedule.</param>
    /// <param name="type">The sampler.</param>
    /// <param name="at">The step index shared by the batch, or per-sample timesteps.</param>
    /// <param name="sample">x, float32, shape (B, …) with rank ≥ 2.</param>
    /// <param name="modelOutput">v, float32, shaped like the sample.</param>
    /// <param name="noiseLevel">η, shared or per row.</param>
    /// <param name="next">The noise to sample with, or the known previous sample.</param>
    /// <param name="includeLogProbNormalizer">Whether the log-prob includes <c>−log σ − log √(2π)</c> (ignored by <see cref="SdeType.Cps"/>, which has no variance term).</param>
    public static Either<OmniError, StepResult> Sample(
        SchedulerState state, SdeType type, StepAt at, Tensor sample, Tensor modelOutput,
        NoiseLevel noiseLevel, NextSample next, bool includeLogProbNormalizer = true) =>
        from _ in StepInputs.Check(sample, modelOutput, next)
        from rows in StepInputs.Rows(state, at, sample.shape[0])
        from etas in StepInputs.NoiseLevels(noiseLevel, sample.shape[0])
        select Compute(state, type, rows, etas, at is StepAt.OfTimesteps || noiseLevel.PerRow is not null, sample, modelOutput, next, includeLogProbNormalizer);

    /// <summary>
    /// The DanceGRPO mean <c>x + dσ·v + ½η²dσ/σ² · (x − (1 − σ)·x̂0)</c>, x̂0 = x − σv. The bracket cancels
    /// badly at small σ, and the score amplifies its rounding by about η²/(2σ); evaluating it in the
    /// reference's order (x̂0 and (1 − σ)·x̂0 each rounded to float32) reproduces the reference's values.
    /// </summary>
    private static Tensor DanceMean(Tensor x, Tensor v, bool shared, StepCoefficients c, Func<Func<StepCoefficients, float>, Tensor> perRow)
    {
        if (shared)
        {
            // One scratch buffer, each value rounded where the reference rounds it: σv, then x − σv (negating is
            // exact, so −(σv) + x rounds like x − σv), then (1 − σ)·x̂0, then x − (1 − σ)·x̂0. Not
            // x.add(v, alpha: −σ): a fused multiply-add would round σv and the difference only once.
            var bracket = v.mul(c.Sigma).neg_().add_(x).mul_(1f - c.Sigma).neg_().add_(x);
            return x.add(v, alpha: c.Dt).add_(bracket, alpha: c.ScoreCoefficient);
        }
        var sigma = perRow(k => k.Sigma);
        var rowBracket = x - (x - sigma * v).mul_(1f - sigma);
        return torch.addcmul(torch.addcmul(x, v, perRow(k => k.Dt), 1), rowBracket, perRow(k => k.ScoreCoefficient), 1);
    }

    private static StepResult Compute(
        SchedulerState state, SdeType type, (float Sigma, float SigmaNext)[] rows, double[] etas, bool perRow,
        Tensor sample, Tensor modelOutput, NextSample next, bool includeNormalizer)
    {
        using var scope = NewDisposeScope();
        var batch = sample.shape[0];
        // The training path and per-row noise levels give (B, 1, …, 1) coefficients even when B = 1, as the reference does.
        var shared = !perRow;
        var count = shared ? 1 : (int)batch;
        var coefficients = new StepCoefficients[count];
        for (var r = 0; r < count; r++)
        {
            var (sigma, sigmaNext) = rows[rows.Length == 1 ? 0 : r];
            coefficients[r] = StepCoefficients.For(type, sigma, sigmaNext, state.Sigmas[1], etas[etas.Length == 1 ? 0 : r]);
        }
        var rowShape = new long[sample.dim()];
        System.Array.Fill(rowShape, 1L);
        rowShape[0] = batch;
        Tensor PerRow(Func<StepCoefficients, float> pick) =>
            tensor(coefficients.Select(pick).ToArray(), ScalarType.Float32, sample.device).reshape(rowShape);

        var c = coefficients[0];
        var mean = type == SdeType.DanceSde
            ? DanceMean(sample, modelOutput, shared, c, PerRow)
            : shared
                ? sample.mul(c.SampleCoefficient).add_(modelOutput, alpha: c.OutputCoefficient)
                : torch.addcmul(sample * PerRow(k => k.SampleCoefficient), modelOutput, PerRow(k => k.OutputCoefficient), 1);

        var prev = next switch
        {
            NextSample.OfNoise n => shared
                ? mean.add(n.Noise, alpha: c.NoiseScale)
                : torch.addcmul(mean, n.Noise, PerRow(k => k.NoiseScale), 1),
            NextSample.OfPrevSample g => g.Sample.alias(),
            _ => throw new ArgumentOutOfRangeException(nameof(next)),
        };

        // With a per-row variance the element-wise log-density factors into
        // −mean((x' − μ)²)/(2s²) − log s − log √(2π), which needs one reduction instead of a full-size pass.
        // d·d rather than pow_(2): libtorch's pow computes x·x for an exponent of 2 (and its gradient 2x·g equals x·g + x·g
        // exactly), and d·d needs no temporary Scalar that the GC may finalize while libtorch still reads it (seen once as an
        // internal assert in Scalar.h in a full test run).
        var deviation = prev.detach() - mean;
        var meanSquare = (deviation * deviation).reshape(batch, -1).mean([1]);
        Tensor logProb;
        if (type == SdeType.Cps)
        {
            logProb = meanSquare.neg();
        }
        else if (shared)
        {
            logProb = meanSquare.div(2f * c.NoiseScale * c.NoiseScale).neg_();
            if (includeNormalizer) logProb = logProb.sub_(MathF.Log(c.NoiseScale)).sub_(LogSqrtTwoPi);
        }
        else
        {
            var twoVariance = tensor(coefficients.Select(k => 2f * k.NoiseScale * k.NoiseScale).ToArray(), ScalarType.Float32, sample.device);
            logProb = meanSquare.div(twoVariance).neg_();
            if (includeNormalizer)
            {
                var logScale = tensor(coefficients.Select(k => MathF.Log(k.NoiseScale)).ToArray(), ScalarType.Float32, sample.device);
                logProb = logProb.sub_(logScale).sub_(LogSqrtTwoPi);
            }
        }

        var std = shared ? tensor(c.Std, ScalarType.Float32, sample.device) : PerRow(k => k.Std);
        var sqrtDt = shared
            ? full(batch, c.SqrtDt, ScalarType.Float32, sample.device)
            : tensor(Enumerable.Range(0, (int)batch).Select(b => coefficients[b].SqrtDt).ToArray(), ScalarType.Float32, sample.device);

        return new StepResult(
            prev.MoveToOuterDisposeScope(), logProb.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope(),
            std.MoveToOuterDisposeScope(), sqrtDt.MoveToOuterDisposeScope());
    }
}
