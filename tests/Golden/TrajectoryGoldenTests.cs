using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>trajectories</c> suite: whole rollouts with the analytic velocity
/// <c>v = −0.3x + σA + 0.1·tanh(x)</c> (A = linspace(−0.5, 0.5, last dim)), per-sample seeded noise, then
/// every step's log-prob recomputed from the stored trajectory with per-sample timesteps (the training path).
/// </summary>
public sealed class TrajectoryGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("trajectories");

    public static TheoryData<string> Cases => Suite.Ids(_ => true);

    private static Tensor Velocity(Tensor x, Tensor sigma, Tensor a) => -0.3 * x + sigma * a + 0.1 * x.tanh();

    [Theory, MemberData(nameof(Cases))]
    public void Rollout_and_recomputation_match_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var state = ManifestReading.State(c);
        var type = SdeTypes.Parse(c.GetProperty("sde_type").GetString()!).OrThrow();
        var eta = c.GetProperty("noise_level").GetDouble();
        var shape = ManifestReading.Longs(c, "shape");
        var a = linspace(-0.5, 0.5, shape[^1], ScalarType.Float32, TestDevice.Device);

        var x = NoiseSource.PerSample(ManifestReading.Longs(c, "initial_noise_seeds")).Draw(shape, device: TestDevice.Device);
        var stepNoise = NoiseSource.PerSample(ManifestReading.Longs(c, "step_noise_seeds"));
        var latents = new List<Tensor> { x };
        var logProbs = new List<Tensor>();
        var means = new List<Tensor>();
        for (var k = 0; k < state.NumInferenceSteps; k++)
        {
            var v = Velocity(x, tensor(state.Sigmas[k], device: TestDevice.Device), a);
            var r = SdeStep.Sample(state, type, StepAt.At(k), x, v, eta, NextSample.WithNoise(stepNoise.Draw(shape, device: TestDevice.Device))).OrThrow();
            x = r.PrevSample;
            latents.Add(x);
            logProbs.Add(r.LogProb);
            means.Add(r.PrevSampleMean);
        }
        var allLatents = stack(latents, 1);
        var allTimesteps = state.TimestepsTensor(TestDevice.Device).unsqueeze(0).expand(shape[0], -1);
        TensorAssert.Close(allLatents, Suite.Tensor(c, "outputs", "all_latents"), TensorAssert.Elementwise, id + " all_latents");
        TensorAssert.Close(stack(means, 1), Suite.Tensor(c, "outputs", "all_means"), TensorAssert.Elementwise, id + " all_means");
        TensorAssert.Close(stack(logProbs, 1), Suite.Tensor(c, "outputs", "all_log_probs"), TensorAssert.Reduced, id + " all_log_probs");
        TensorAssert.Identical(allTimesteps.contiguous(), Suite.Tensor(c, "outputs", "all_timesteps"), id + " all_timesteps");

        // Training path: recompute from the reference's stored trajectory, locating each step by its timestep.
        var storedLatents = Suite.Tensor(c, "outputs", "all_latents");
        var storedTimesteps = Suite.Tensor(c, "outputs", "all_timesteps");
        var recomputed = new List<Tensor>();
        for (var k = 0; k < state.NumInferenceSteps; k++)
        {
            var xk = storedLatents[.., k].contiguous();
            var t = storedTimesteps[.., k].contiguous();
            var sigma = tensor(t.cpu().data<float>().ToArray().Select(tv => state.Sigmas[TimestepIndex.Of(state, tv).OrThrow()]).ToArray(), device: TestDevice.Device)
                .reshape(shape[0], 1, 1);
            var v = Velocity(xk, sigma, a);
            var r = SdeStep.Sample(state, type, StepAt.Timesteps(t), xk, v, eta, NextSample.Known(storedLatents[.., k + 1].contiguous())).OrThrow();
            recomputed.Add(r.LogProb);
        }
        TensorAssert.Close(stack(recomputed, 1), Suite.Tensor(c, "outputs", "recomputed_log_probs"), TensorAssert.Reduced, id + " recomputed_log_probs");
    }
}
