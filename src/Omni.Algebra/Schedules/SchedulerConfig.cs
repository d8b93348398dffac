using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Schedules;

/// <summary>
/// Every option of diffusers' <c>FlowMatchEulerDiscreteScheduler</c>, with the reference defaults.
/// Property names map one-to-one to the snake_case keys of a <c>scheduler_config.json</c>
/// (see <see cref="SchedulerConfigJson"/>).
/// </summary>
public sealed record SchedulerConfig
{
    /// <summary><c>num_train_timesteps</c>: length of the training table (N).</summary>
    public int NumTrainTimesteps { get; init; } = 1000;
    /// <summary><c>shift</c>: the static shift s, used when dynamic shifting is off.</summary>
    public double Shift { get; init; } = 1.0;
    /// <summary><c>use_dynamic_shifting</c>: shift with <c>mu</c> at <c>set_timesteps</c> instead of the static shift.</summary>
    public bool UseDynamicShifting { get; init; }
    /// <summary><c>base_shift</c>: read by pipelines for <see cref="Shifts.CalculateShift"/>.</summary>
    public double BaseShift { get; init; } = 0.5;
    /// <summary><c>max_shift</c>: read by pipelines for <see cref="Shifts.CalculateShift"/>.</summary>
    public double MaxShift { get; init; } = 1.15;
    /// <summary><c>base_image_seq_len</c>: read by pipelines for <see cref="Shifts.CalculateShift"/>.</summary>
    public int BaseImageSeqLen { get; init; } = 256;
    /// <summary><c>max_image_seq_len</c>: read by pipelines for <see cref="Shifts.CalculateShift"/>.</summary>
    public int MaxImageSeqLen { get; init; } = 4096;
    /// <summary><c>invert_sigmas</c>: Mochi-style inversion, <c>σ ← 1 − σ</c> with a terminal 1.</summary>
    public bool InvertSigmas { get; init; }
    /// <summary><c>shift_terminal</c>: if set (and non-zero), stretch the schedule so its last sigma equals this value.</summary>
    public double? ShiftTerminal { get; init; }
    /// <summary><c>use_karras_sigmas</c>.</summary>
    public bool UseKarrasSigmas { get; init; }
    /// <summary><c>use_exponential_sigmas</c>.</summary>
    public bool UseExponentialSigmas { get; init; }
    /// <summary><c>use_beta_sigmas</c>: Beta(0.6, 0.6) spacing.</summary>
    public bool UseBetaSigmas { get; init; }
    /// <summary><c>time_shift_type</c>: exponential (default) or linear dynamic shifting.</summary>
    public TimeShiftType TimeShiftType { get; init; } = TimeShiftType.Exponential;
    /// <summary><c>stochastic_sampling</c>: the plain Euler step re-noises instead of stepping deterministically.</summary>
    public bool StochasticSampling { get; init; }

    /// <summary>The diffusers defaults.</summary>
    public static SchedulerConfig Default { get; } = new();

    /// <summary>
    /// Checks the conditions the reference constructor checks, plus the ones it would trip over later
    /// (non-positive table length, non-positive shift); every problem is reported.
    /// </summary>
    public Validation<OmniError, SchedulerConfig> Validate()
    {
        var errors = new List<OmniError>();
        if (new[] { UseBetaSigmas, UseExponentialSigmas, UseKarrasSigmas }.Count(b => b) > 1)
            errors.Add(OmniError.Invalid("Only one of `config.use_beta_sigmas`, `config.use_exponential_sigmas`, `config.use_karras_sigmas` can be used."));
        if (NumTrainTimesteps < 1)
            errors.Add(OmniError.Invalid($"`num_train_timesteps` must be a positive integer, got {NumTrainTimesteps}."));
        if (!(Shift > 0) || double.IsInfinity(Shift))
            errors.Add(OmniError.Invalid($"`shift` must be a positive finite number, got {Shift}."));
        if (ShiftTerminal is { } terminal && (terminal is < 0 or >= 1 || double.IsNaN(terminal)))
            errors.Add(OmniError.Invalid($"`shift_terminal` must lie in [0, 1), got {terminal}."));
        return errors.Count == 0
            ? Success<OmniError, SchedulerConfig>(this)
            : Fail<OmniError, SchedulerConfig>(Seq(errors));
    }
}
