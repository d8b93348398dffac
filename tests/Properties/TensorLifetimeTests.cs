using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Properties;

/// <summary>Steps leave no tensors behind: only the results the caller owns stay alive.</summary>
public sealed class TensorLifetimeTests
{
    private static long Live() => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    [Theory]
    [InlineData(SdeType.Sde)]
    [InlineData(SdeType.Cps)]
    [InlineData(SdeType.DanceSde)]
    public void Steps_release_every_intermediate_tensor(SdeType type)
    {
        var state = FlowMatchSchedule.SetTimesteps(new SchedulerConfig { Shift = 3.0 }, 10).OrThrow();
        var noise = NoiseSource.Seeded(7);
        using var x = noise.Draw([2, 8, 4]);
        using var v = noise.Draw([2, 8, 4]);
        using var eps = noise.Draw([2, 8, 4]);
        using var t = full(2, state.Timesteps[3]);
        using var etas = tensor(new[] { 0.5f, 0.7f });
        var before = Live();
        for (var k = 0; k < 20; k++)
        {
            using var rollout = SdeStep.Sample(state, type, StepAt.Index(k % 10), x, v, 0.7, NextSample.FromNoise(eps)).OrThrow();
            using var training = SdeStep.Sample(state, type, StepAt.Timesteps(t), x, v, NoiseLevel.Rows(etas), NextSample.PrevSample(eps)).OrThrow();
        }
        Assert.Equal(before, Live());
    }
}
