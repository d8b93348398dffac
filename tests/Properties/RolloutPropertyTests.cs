using CsCheck;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Tests.Properties;

/// <summary>Whole rollouts through the production loop (<see cref="FlowRollout"/>): seeds determine them, windows shape them.</summary>
public sealed class RolloutPropertyTests
{
    private static RolloutSteps Rollout(StepCase s, SdeWindow window)
    {
        var state = s.Schedule.State;
        var seeds = Enumerable.Range(0, (int)s.Shape[0]).Select(b => s.Seed % 1_000_000 + b).ToArray();
        using var initial = NoiseSource.PerSample(seeds).Draw(s.Shape);
        var stepNoise = NoiseSource.PerSample(seeds.Select(seed => seed + 1_000_000));
        var sde = new SdeSettings { SdeType = s.Type, NoiseLevel = s.NoiseLevel };
        return FlowRollout.Run(state, sde, window, initial, (x, _) => -0.3 * x + 0.1 * x.tanh(), stepNoise, recordMeans: true).OrThrow();
    }

    private static SdeWindow Whole(StepCase s) => new(0, s.Schedule.State.NumInferenceSteps);

    [Fact]
    public void The_same_seeds_give_the_same_rollout() =>
        Generators.Steps.Sample(s =>
        {
            using var scope = NewDisposeScope();
            var first = Rollout(s, Whole(s));
            var second = Rollout(s, Whole(s));
            Assert.True(first.Latents.bytes.SequenceEqual(second.Latents.bytes), "latents differ between two runs with the same seeds");
            Assert.True(first.LogProbs.bytes.SequenceEqual(second.LogProbs.bytes), "log-probs differ between two runs with the same seeds");
        }, iter: 40, print: s => s.ToString());

    /// <summary>
    /// A window records exactly its steps: W log-probs and timesteps, W + 1 latents starting where the whole-schedule rollout
    /// stood at the window's start, and noise drawn at every step either way (so the steps before the window are the same
    /// Euler steps, and a narrower window leaves the later noise where it was).
    /// </summary>
    [Fact]
    public void A_window_records_its_steps_and_leaves_the_steps_before_it_to_the_ode() =>
        Gen.Select(Generators.Steps, Gen.Int[0, 1000], Gen.Int[1, 1000]).Sample((s, startDraw, lengthDraw) =>
        {
            using var scope = NewDisposeScope();
            var n = s.Schedule.State.NumInferenceSteps;
            var start = startDraw % n;
            var window = new SdeWindow(start, start + 1 + lengthDraw % (n - start));
            var windowed = Rollout(s, window);
            Assert.Equal(new long[] { s.Shape[0], window.Length }, windowed.LogProbs.shape);
            Assert.Equal(window.Length + 1, windowed.Latents.shape[1]);
            Assert.Equal(s.Schedule.State.Timesteps.Skip(window.Start).Take(window.Length), windowed.Timesteps[0].data<float>().ToArray());
            // Up to the window the two rollouts ran the same η = 0 steps on the same latents.
            var ode = Rollout(s, new SdeWindow(window.Start, window.Start + 1));
            Assert.True(ode.Latents.select(1, 0).contiguous().bytes.SequenceEqual(windowed.Latents.select(1, 0).contiguous().bytes), "the latent entering the window depends on the window's length");
        }, iter: 40, print: t => $"{t.Item1} start draw {t.Item2} length draw {t.Item3}");
}
