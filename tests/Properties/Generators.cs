using CsCheck;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;

namespace Omni.Tests.Properties;

/// <summary>A schedule request drawn for a property, printable as a counterexample.</summary>
public sealed record ScheduleCase(SchedulerConfig Config, int Steps, double? Mu)
{
    /// <summary>Whether the request is valid (a one-step default schedule cannot be stretched to a terminal value).</summary>
    public bool IsValid => FlowMatchSchedule.SetTimesteps(Config, Steps, Mu).IsSuccess;

    /// <inheritdoc />
    public override string ToString() => $"{Config} steps={Steps} mu={Mu:R}";

    /// <summary>The schedule.</summary>
    public SchedulerState State => FlowMatchSchedule.SetTimesteps(Config, Steps, Mu).OrThrow();
}

/// <summary>One SDE step drawn for a property: a schedule, a sampler, a step, a noise level, a shape and a tensor seed.</summary>
public sealed record StepCase(ScheduleCase Schedule, SdeType Type, int StepIndex, double NoiseLevel, long[] Shape, long Seed)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Schedule} {Type} step {StepIndex} η={NoiseLevel:R} shape=({string.Join(", ", Shape)}) seed={Seed}";
}

/// <summary>CsCheck generators over Omni's inputs. Tensors are always drawn from torch generators seeded by a generated seed.</summary>
public static class Generators
{
    /// <summary>Configurations across every option that shapes a schedule.</summary>
    public static readonly Gen<ScheduleCase> Schedules =
        Gen.Select(
            Gen.Double[0.5, 8.0], Gen.Bool, Gen.Enum<TimeShiftType>(), Gen.Double[-0.5, 2.5],
            Gen.Int[0, 3], Gen.Double[0.0, 0.3], Gen.Bool, Gen.Int[1, 50],
            (shift, dynamic, shiftType, mu, spacing, terminal, invert, steps) =>
        {
            var config = new SchedulerConfig
            {
                Shift = shift,
                UseDynamicShifting = dynamic,
                TimeShiftType = shiftType,
                ShiftTerminal = terminal < 0.01 ? null : terminal,
                UseKarrasSigmas = spacing == 1,
                UseExponentialSigmas = spacing == 2,
                UseBetaSigmas = spacing == 3,
                InvertSigmas = invert,
            };
            // Linear time shifting needs a positive mu to stay a map onto (0, 1).
            var muValue = shiftType == TimeShiftType.Linear ? Math.Abs(mu) + 0.1 : mu;
            return new ScheduleCase(config, steps, dynamic ? muValue : null);
        }).Where(s => s.IsValid);

    /// <summary>The one family of invalid requests the generator space contains.</summary>
    public static readonly Gen<ScheduleCase> UnstretchableSchedules =
        Gen.Double[0.01, 0.5].Select(Gen.Bool, (terminal, dynamic) =>
            new ScheduleCase(new SchedulerConfig { ShiftTerminal = terminal, UseDynamicShifting = dynamic }, 1, dynamic ? 0.5 : null));

    /// <summary>Schedules that run forward (not inverted), as the SDE samplers need.</summary>
    public static readonly Gen<ScheduleCase> ForwardSchedules =
        Schedules.Where(s => !s.Config.InvertSigmas && s.Steps >= 2);

    /// <summary>Shapes of rank 2 to 5 with a batch of 1 to 4.</summary>
    public static readonly Gen<long[]> Shapes =
        Gen.Int[2, 5].SelectMany(rank => Gen.Long[1, 4].Select(Gen.Long[1, 6].Array[rank - 1], (b, rest) => new[] { b }.Concat(rest).ToArray()));

    /// <summary>SDE steps of every sampler, away from η = 0 (where log-probs are undefined).</summary>
    public static readonly Gen<StepCase> Steps =
        Gen.Select(ForwardSchedules, Gen.Enum<SdeType>(), Gen.Int[0, 1000], Gen.Double[0.2, 1.5], Shapes, Gen.Long[0, long.MaxValue])
           .Select(t => new StepCase(t.Item1, t.Item2, t.Item3 % t.Item1.Steps, t.Item4, t.Item5, t.Item6));
}
