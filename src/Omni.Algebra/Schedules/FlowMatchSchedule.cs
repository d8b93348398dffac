using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Schedules;

/// <summary>
/// <c>set_timesteps</c> of diffusers' <c>FlowMatchEulerDiscreteScheduler</c> as a pure function. The
/// numerics follow the reference exactly: the default path computes in float64 from the already shifted
/// ends of the training table (so a static shift is applied twice), explicit sigmas or timesteps stay
/// float32, and the result is cast to float32 once before <c>σ·N</c>.
/// </summary>
public static class FlowMatchSchedule
{
    /// <summary>Derives the inference schedule, or every reason the request is invalid.</summary>
    public static Validation<OmniError, SchedulerState> SetTimesteps(SchedulerConfig config, TimestepRequest request) =>
        from valid in config.Validate()
        from n in CheckRequest(valid, request)
        from state in Build(valid, request, n)
        select state;

    /// <summary>Shorthand for a default schedule of <paramref name="numInferenceSteps"/> steps.</summary>
    public static Validation<OmniError, SchedulerState> SetTimesteps(SchedulerConfig config, int numInferenceSteps, double? mu = null) =>
        SetTimesteps(config, TimestepRequest.Steps(numInferenceSteps, mu));

    private static Validation<OmniError, int> CheckRequest(SchedulerConfig config, TimestepRequest request)
    {
        var errors = new List<OmniError>();
        var (steps, sigmas, timesteps) = (request.NumInferenceSteps, request.Sigmas, request.Timesteps);
        if (config.UseDynamicShifting && request.Mu is null)
            errors.Add(OmniError.Invalid("`mu` must be passed when `use_dynamic_shifting` is set to be `True`"));
        if (sigmas is { } s && timesteps is { } t && s.Length != t.Length)
            errors.Add(OmniError.Invalid($"`sigmas` and `timesteps` should have the same length (got {s.Length} sigmas and {t.Length} timesteps)"));
        if (steps is { } k)
        {
            if (sigmas is { } s2 && s2.Length != k)
                errors.Add(OmniError.Invalid($"`sigmas` should have the same length as num_inference_steps, if `num_inference_steps` is provided (got {s2.Length} sigmas for {k} steps)"));
            if (timesteps is { } t2 && t2.Length != k)
                errors.Add(OmniError.Invalid($"`timesteps` should have the same length as num_inference_steps, if `num_inference_steps` is provided (got {t2.Length} timesteps for {k} steps)"));
        }
        var n = steps ?? sigmas?.Length ?? timesteps?.Length;
        if (n is null)
            errors.Add(new OmniError(ErrorKind.MissingArgument, "set_timesteps needs one of `num_inference_steps`, `sigmas` or `timesteps`."));
        else if (n < 1)
            errors.Add(OmniError.Invalid($"The schedule needs at least one inference step, got {n}."));
        foreach (var (name, values) in new[] { ("sigmas", sigmas), ("timesteps", timesteps) })
            if (values is { } v && v.Any(x => !double.IsFinite(x)))
                errors.Add(OmniError.Invalid($"`{name}` must be finite numbers, got [{string.Join(", ", v)}]."));
        return errors.Count == 0 ? Success<OmniError, int>(n!.Value) : Fail<OmniError, int>(Seq(errors));
    }

    private static Validation<OmniError, SchedulerState> Build(SchedulerConfig config, TimestepRequest request, int n)
    {
        var trainSteps = config.NumTrainTimesteps;
        double[]? shifted;
        if (request.Sigmas is null && request.Timesteps is null)
        {
            var table = TrainTable.For(config);
            var sigmas = NumpyMath.Linspace(table.SigmaMax * trainSteps, table.SigmaMin * trainSteps, n)
                .Select(t => t / trainSteps).ToArray();
            shifted = Shift(config, request.Mu, sigmas);
        }
        else
        {
            var custom = request.Sigmas is { } given
                ? given.Select(s => (float)s).ToArray()
                : request.Timesteps!.Value.Select(t => (float)t / trainSteps).ToArray();
            // float → double is exact, so the respacing below sees the float32 values the reference sees.
            shifted = Shift(config, request.Mu, custom)?.Select(s => (double)s).ToArray();
        }
        if (shifted is null) return TerminalError(config.ShiftTerminal!.Value);

        var sigmas32 = Respace(config, shifted, n).Select(s => (float)s).ToArray();
        if (config.InvertSigmas) sigmas32 = sigmas32.Select(s => 1f - s).ToArray();
        var timesteps = sigmas32.Select(s => s * trainSteps).ToArray();
        var terminalSigma = config.InvertSigmas ? 1f : 0f;
        return Success<OmniError, SchedulerState>(new SchedulerState(config, [.. sigmas32, terminalSigma], [.. timesteps]));
    }

    /// <summary>
    /// Static or dynamic shift, then the terminal stretch, in the precision of the path (float64 for the default
    /// schedule, float32 for explicit sigmas or timesteps); null when the schedule cannot be stretched.
    /// </summary>
    private static T[]? Shift<T>(SchedulerConfig config, double? mu, T[] sigmas) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        var shifted = sigmas.Select(s => config.UseDynamicShifting
            ? Shifts.Time(config.TimeShiftType, mu!.Value, s)
            : Shifts.Static(config.Shift, s)).ToArray();
        if (config.ShiftTerminal is not { } terminal || terminal == 0) return shifted;
        return shifted[^1] >= T.One ? null : Shifts.StretchToTerminal(shifted, terminal);
    }

    // The reference divides 0 by 0 here and returns NaN sigmas; a schedule that never leaves σ = 1 cannot be stretched.
    private static Validation<OmniError, SchedulerState> TerminalError(double terminal) =>
        Fail<OmniError, SchedulerState>(OmniError.Invalid(
            $"`shift_terminal` = {terminal} needs a schedule whose last sigma is below 1 before stretching; a one-step default schedule (or explicit sigmas ending at 1) cannot be stretched. Use more steps or unset `shift_terminal`."));

    private static double[] Respace(SchedulerConfig config, double[] sigmas, int n)
    {
        if (config.UseKarrasSigmas) return SigmaSpacings.Karras(sigmas[0], sigmas[^1], n);
        if (config.UseExponentialSigmas) return SigmaSpacings.Exponential(sigmas[0], sigmas[^1], n);
        if (config.UseBetaSigmas) return SigmaSpacings.Beta(sigmas[0], sigmas[^1], n);
        return sigmas;
    }
}
