using CsCheck;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Tests.Properties;

/// <summary>Whole rollouts: the same seeds give the same trajectory, bit for bit.</summary>
public sealed class RolloutPropertyTests
{
    private static (Tensor Latents, Tensor LogProbs) Rollout(StepCase s)
    {
        var state = s.Schedule.State;
        var batch = s.Shape[0];
        var seeds = Enumerable.Range(0, (int)batch).Select(b => s.Seed % 1_000_000 + b).ToArray();
        var x = NoiseSource.PerSample(seeds).Draw(s.Shape, device: TestDevice.Device);
        var stepNoise = NoiseSource.PerSample(seeds.Select(seed => seed + 1_000_000));
        var latents = new List<Tensor> { x };
        var logProbs = new List<Tensor>();
        for (var k = 0; k < state.NumInferenceSteps; k++)
        {
            var v = -0.3 * x + 0.1 * x.tanh();
            var r = SdeStep.Sample(state, s.Type, StepAt.At(k), x, v, s.NoiseLevel, NextSample.WithNoise(stepNoise.Draw(s.Shape, device: TestDevice.Device))).OrThrow();
            x = r.PrevSample;
            latents.Add(x);
            logProbs.Add(r.LogProb);
        }
        return (stack(latents, 1), stack(logProbs, 1));
    }

    [Fact]
    public void The_same_seeds_give_the_same_rollout() =>
        Generators.Steps.Sample(s =>
        {
            using var scope = NewDisposeScope();
            var (first, firstLogProbs) = Rollout(s);
            var (second, secondLogProbs) = Rollout(s);
            Assert.True(first.cpu().bytes.SequenceEqual(second.cpu().bytes), "latents differ between two runs with the same seeds");
            Assert.True(firstLogProbs.cpu().bytes.SequenceEqual(secondLogProbs.cpu().bytes), "log-probs differ between two runs with the same seeds");
        }, iter: 40, print: s => s.ToString());
}
