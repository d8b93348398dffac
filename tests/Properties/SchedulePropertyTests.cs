using CsCheck;
using Omni.Algebra.Schedules;

namespace Omni.Tests.Properties;

/// <summary>Invariants of every schedule the configuration space can produce.</summary>
public sealed class SchedulePropertyTests
{
    [Fact]
    public void Schedules_are_finite_monotone_bounded_and_end_at_the_terminal_value() =>
        Generators.Schedules.Sample(s =>
        {
            var state = s.State;
            var sigmas = state.Sigmas;
            Assert.Equal(s.Steps + 1, sigmas.Length);
            Assert.All(sigmas, v => Assert.True(float.IsFinite(v), $"non-finite sigma {v}"));
            for (var i = 0; i + 1 < sigmas.Length; i++)
            {
                if (s.Config.InvertSigmas) Assert.True(sigmas[i] < sigmas[i + 1], $"not increasing at {i}: {sigmas[i]} then {sigmas[i + 1]}");
                else Assert.True(sigmas[i] > sigmas[i + 1], $"not decreasing at {i}: {sigmas[i]} then {sigmas[i + 1]}");
            }
            // The reference computes shift(1) as f32(s)/(1 + f32(s − 1)), which rounds to 1 + 1 ulp for some
            // shifts, and the default path shifts that value again in float64 (slope 1/s at 1, so up to 2 ulps
            // for s ≥ 0.5). Omni keeps these values bit for bit — timesteps must equal the reference's exactly —
            // so the bound holds to a few float32 ulps.
            const float oneUlp = 4 * 1.1920929e-7f;
            if (s.Config.InvertSigmas)
            {
                Assert.True(sigmas[0] >= -oneUlp, $"first inverted sigma {sigmas[0]} < 0");
                Assert.Equal(1f, sigmas[^1]);
            }
            else
            {
                Assert.True(sigmas[0] <= 1f + oneUlp, $"first sigma {sigmas[0]} > 1");
                Assert.Equal(0f, sigmas[^1]);
            }
        }, iter: 400);

    [Fact]
    public void Timesteps_are_sigmas_times_the_training_steps() =>
        Generators.Schedules.Sample(s =>
        {
            var state = s.State;
            Assert.Equal(s.Steps, state.Timesteps.Length);
            for (var i = 0; i < state.Timesteps.Length; i++)
                Assert.Equal(state.Sigmas[i] * s.Config.NumTrainTimesteps, state.Timesteps[i]);
        }, iter: 400);

    [Fact]
    public void One_step_schedules_cannot_be_stretched_to_a_terminal_value() =>
        Generators.UnstretchableSchedules.Sample(s =>
        {
            var errors = FlowMatchSchedule.SetTimesteps(s.Config, s.Steps, s.Mu).Match(Succ: _ => [], Fail: e => e.ToList());
            Assert.Contains(errors, e => e.Message.Contains("shift_terminal"));
        }, iter: 20);

    /// <summary>Two schedules built from equal requests (separately constructed values) are bit-identical: no hidden state.</summary>
    [Fact]
    public void The_same_request_gives_the_same_schedule() =>
        Generators.Schedules.Sample(s =>
        {
            var first = FlowMatchSchedule.SetTimesteps(s.Config, s.Steps, s.Mu).Match(Succ: x => x, Fail: e => throw new Xunit.Sdk.XunitException(e.Head.Message));
            var second = FlowMatchSchedule.SetTimesteps(s.Config with { }, s.Steps, s.Mu).Match(Succ: x => x, Fail: e => throw new Xunit.Sdk.XunitException(e.Head.Message));
            Assert.NotSame(first, second);
            Assert.Equal(first.Sigmas.Select(BitConverter.SingleToInt32Bits), second.Sigmas.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(first.Timesteps.Select(BitConverter.SingleToInt32Bits), second.Timesteps.Select(BitConverter.SingleToInt32Bits));
        }, iter: 100);
}
