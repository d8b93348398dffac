using CsCheck;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Tests.Properties;

/// <summary>Invariants of the SDE step over random schedules, samplers, steps, noise levels and shapes.</summary>
public sealed class SdeStepPropertyTests
{
    private const double Float32Epsilon = 1.1920929e-7;

    private static (Tensor X, Tensor V, Tensor Noise) Inputs(StepCase s)
    {
        var source = NoiseSource.Seeded(s.Seed);
        return (source.Draw(s.Shape), source.Draw(s.Shape), source.Draw(s.Shape));
    }

    private static double[] Row(Tensor t, long b) => t[b].flatten().to(ScalarType.Float64).data<double>().ToArray();

    private static StepResult Step(StepCase s, Tensor x, Tensor v, NextSample next, double? eta = null) =>
        SdeStep.Sample(s.Schedule.State, s.Type, StepAt.Index(s.StepIndex), x, v, eta ?? s.NoiseLevel, next).OrThrow();

    [Fact]
    public void Log_probs_equal_the_float64_gaussian_density() =>
        Generators.Steps.Where(s => s.Type != SdeType.Cps).Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var r = Step(s, x, v, NextSample.FromNoise(noise));
            var state = s.Schedule.State;
            for (long b = 0; b < s.Shape[0]; b++)
            {
                var (xs, vs, prev) = (Row(x, b), Row(v, b), Row(r.PrevSample, b));
                var (mean, scale) = ReferenceDensity.MeanAndScale(s.Type, state.Sigmas[s.StepIndex], state.Sigmas[s.StepIndex + 1], state.Sigmas[1], s.NoiseLevel, xs, vs);
                var expected = ReferenceDensity.LogDensity(prev, mean, scale);
                // Float32 rounding of the mean (a few ulps of the operands) enters the density through (x' − μ)/s².
                // DanceGRPO's mean (kept in the reference's form for parity) also amplifies the rounding of
                // x − (1 − σ)·x̂0 by ½η²|dσ|/σ², which dominates at the smallest sigmas.
                double sigma = state.Sigmas[s.StepIndex], dt = state.Sigmas[s.StepIndex + 1] - sigma;
                var amplification = s.Type == SdeType.DanceSde ? 0.5 * s.NoiseLevel * s.NoiseLevel * Math.Abs(dt) / (sigma * sigma) : 0;
                var bound = 1e-6 * (1 + Math.Abs(expected)) + prev.Select((p, i) =>
                    Math.Abs(p - mean[i]) / (scale * scale) * 8 * Float32Epsilon
                    * (Math.Abs(xs[i]) + Math.Abs(vs[i]) + Math.Abs(p) + amplification * (Math.Abs(xs[i]) + sigma * Math.Abs(vs[i])))).Average();
                var actual = r.LogProb[b].item<float>();
                Assert.True(Math.Abs(actual - expected) <= bound, $"row {b}: log-prob {actual:R}, float64 density {expected:R}, bound {bound:E2}");
            }
        }, iter: 150, print: s => s.ToString());

    [Fact]
    public void The_mean_maximises_the_log_prob() =>
        Generators.Steps.Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var atMean = Step(s, x, v, NextSample.FromNoise(zeros_like(noise)));
            var elsewhere = Step(s, x, v, NextSample.PrevSample(atMean.PrevSampleMean + 0.1 * noise));
            Assert.True((atMean.LogProb >= elsewhere.LogProb).all().item<bool>(),
                $"log-prob at the mean {atMean.LogProb.ToString(TorchSharp.TensorStringStyle.Numpy)} is below {elsewhere.LogProb.ToString(TorchSharp.TensorStringStyle.Numpy)}");
        }, iter: 150, print: s => s.ToString());

    [Fact]
    public void Sampled_steps_have_the_analytic_log_prob_of_their_noise() =>
        Generators.Steps.Where(s => s.Type != SdeType.Cps).Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var r = Step(s, x, v, NextSample.FromNoise(noise));
            // x' = μ + s·ε, so log p(x') = −mean(ε²)/2 − log s − ½·log 2π with s from the float64 oracle, not from the step.
            var state = s.Schedule.State;
            var (_, scale) = ReferenceDensity.MeanAndScale(s.Type, state.Sigmas[s.StepIndex], state.Sigmas[s.StepIndex + 1], state.Sigmas[1],
                                                           s.NoiseLevel, [0.0], [0.0]);
            var batch = s.Shape[0];
            var expected = (noise.reshape(batch, -1).to(ScalarType.Float64).pow(2).mean([1]) * -0.5)
                           - Math.Log(scale) - 0.5 * Math.Log(2 * Math.PI);
            var tolerance = 1e-4 * (1 + expected.abs().max().item<double>());
            var gap = (r.LogProb.to(ScalarType.Float64) - expected).abs().max().item<double>();
            Assert.True(gap <= tolerance, $"log-prob {r.LogProb.ToString(TorchSharp.TensorStringStyle.Numpy)} vs analytic {expected.ToString(TorchSharp.TensorStringStyle.Numpy)} (gap {gap:E2})");
        }, iter: 150, print: s => s.ToString());

    [Fact]
    public void Without_noise_sde_and_dance_sde_reduce_to_the_euler_step() =>
        Generators.Steps.Where(s => s.Type != SdeType.Cps).Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var state = s.Schedule.State;
            var euler = x + (state.Sigmas[s.StepIndex + 1] - state.Sigmas[s.StepIndex]) * v;
            var scale = 1 + x.abs().max().item<float>() + v.abs().max().item<float>();
            float Gap(double eta) => (Step(s, x, v, NextSample.FromNoise(noise), eta).PrevSampleMean - euler).abs().max().item<float>();
            var rounding = 8 * Float32Epsilon * scale;
            Assert.True(Gap(0) <= rounding, $"η = 0: mean differs from Euler by {Gap(0):E2}");
            // The drift correction is exactly quadratic in η: a tenth of the noise level, a hundredth of the gap.
            var (coarse, fine) = (Gap(1e-2), Gap(1e-3));
            Assert.True(fine <= coarse / 100 * 1.01 + rounding, $"gap {fine:E2} at η = 1e-3 is not a hundredth of {coarse:E2} at η = 1e-2");
        }, iter: 150, print: s => s.ToString());

    /// <summary>
    /// CPS against the float64 oracle: <c>std = σ'·sin(ηπ/2)</c> and the mean <c>(1 − σ')·x̂0 + √(σ'² − std²)·ε̂</c>, with
    /// x̂0 = x − σv and ε̂ = x + (1 − σ)v. The step works in float32, where σ'² − std² cancels as η → 1; its error is
    /// bounded by the float32 rounding of the two squares (≤ 6ε·σ'²), through √ (Hölder: |√a − √b| ≤ √|a − b|).
    /// </summary>
    [Fact]
    public void Cps_means_and_stds_match_the_float64_oracle() =>
        Generators.Steps.Where(s => s.Type == SdeType.Cps).Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var state = s.Schedule.State;
            double sigma = state.Sigmas[s.StepIndex], sigmaNext = state.Sigmas[s.StepIndex + 1];
            var r = Step(s, x, v, NextSample.FromNoise(noise));
            var std = sigmaNext * Math.Sin(s.NoiseLevel * Math.PI / 2);
            Assert.True(Math.Abs(r.StdDevT.item<float>() - std) <= 2 * Float32Epsilon * std, $"std_dev_t {r.StdDevT.item<float>():R}, oracle {std:R}");
            var keep = Math.Sqrt(sigmaNext * sigmaNext - std * std);
            var squares = 6 * Float32Epsilon * sigmaNext * sigmaNext;
            var keepError = Math.Min(Math.Sqrt(squares), keep > 0 ? squares / (2 * keep) : double.PositiveInfinity) + 2 * Float32Epsilon * keep;
            for (long b = 0; b < s.Shape[0]; b++)
            {
                var (xs, vs, actual) = (Row(x, b), Row(v, b), Row(r.PrevSampleMean, b));
                var (mean, _) = ReferenceDensity.MeanAndScale(SdeType.Cps, sigma, sigmaNext, state.Sigmas[1], s.NoiseLevel, xs, vs);
                for (var i = 0; i < xs.Length; i++)
                {
                    // A = (1 − σ') + c and B = −σ(1 − σ') + (1 − σ)c are off by ≤ keepError (and |1 − σ| ≤ 1); the affine map adds float32 rounding.
                    var magnitude = Math.Abs(xs[i]) + Math.Abs(vs[i]);
                    var bound = keepError * magnitude + 8 * Float32Epsilon * (1 + magnitude);
                    Assert.True(Math.Abs(actual[i] - mean[i]) <= bound, $"row {b}, element {i}: mean {actual[i]:R}, oracle {mean[i]:R} (bound {bound:E2})");
                }
            }
        }, iter: 150, print: s => s.ToString());

    [Fact]
    public void A_sample_does_not_change_when_others_join_its_batch() =>
        Generators.Steps.Where(s => s.Shape[0] > 1).Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var batched = Step(s, x, v, NextSample.FromNoise(noise));
            for (long b = 0; b < s.Shape[0]; b++)
            {
                var alone = Step(s, x.narrow(0, b, 1), v.narrow(0, b, 1), NextSample.FromNoise(noise.narrow(0, b, 1)));
                Assert.True(alone.PrevSample.equal(batched.PrevSample.narrow(0, b, 1)).all().item<bool>(), $"row {b}: prev_sample changed");
                Assert.True(alone.PrevSampleMean.equal(batched.PrevSampleMean.narrow(0, b, 1)).all().item<bool>(), $"row {b}: mean changed");
                var gap = (alone.LogProb[0] - batched.LogProb[b]).abs().item<float>();
                Assert.True(gap <= 1e-6 * (1 + Math.Abs(batched.LogProb[b].item<float>())), $"row {b}: log-prob changed by {gap:E2}");
            }
        }, iter: 100, print: s => s.ToString());

    [Fact]
    public void Outputs_have_the_documented_shapes_and_dtypes() =>
        Generators.Steps.Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (x, v, noise) = Inputs(s);
            var shared = Step(s, x, v, NextSample.FromNoise(noise));
            Assert.Equal(s.Shape, shared.PrevSample.shape);
            Assert.Equal(s.Shape, shared.PrevSampleMean.shape);
            Assert.Equal([s.Shape[0]], shared.LogProb.shape);
            Assert.Equal([s.Shape[0]], shared.SqrtDt.shape);
            Assert.Empty(shared.StdDevT.shape);
            var timesteps = full(s.Shape[0], s.Schedule.State.Timesteps[s.StepIndex]);
            var perSample = SdeStep.Sample(s.Schedule.State, s.Type, StepAt.Timesteps(timesteps), x, v, s.NoiseLevel, NextSample.PrevSample(shared.PrevSample)).OrThrow();
            Assert.Equal(new[] { s.Shape[0] }.Concat(Enumerable.Repeat(1L, s.Shape.Length - 1)), perSample.StdDevT.shape);
            foreach (var t in new[] { shared.PrevSample, shared.LogProb, shared.PrevSampleMean, shared.StdDevT, shared.SqrtDt, perSample.LogProb, perSample.StdDevT })
                Assert.Equal(ScalarType.Float32, t.dtype);
            // The training path recomputes the rollout's log-prob for the same step.
            var gap = (perSample.LogProb - shared.LogProb).abs().max().item<float>();
            Assert.True(gap <= 1e-5 * (1 + shared.LogProb.abs().max().item<float>()), $"recomputed log-prob differs by {gap:E2}");
        }, iter: 150, print: s => s.ToString());
}
