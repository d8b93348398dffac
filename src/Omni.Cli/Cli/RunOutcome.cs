using Omni.Training.Run;

namespace Omni.Cli.Cli;

/// <summary>How a finished training run ends the process: what it says about skipped updates, and its exit code.</summary>
public static class RunOutcome
{
    /// <summary>
    /// The exit code of <paramref name="summary"/>: interrupted, no update at all (then the reason goes to stderr — a run that
    /// changed nothing must not look like success), or success, with a warning line when some steps skipped their update.
    /// </summary>
    public static int Report(TrainingSummary summary)
    {
        if (summary.Cancelled) return ExitCodes.Interrupted;
        var sessionIdle = summary.StepsRun > 0 && summary.OptimizerUpdates == 0;
        var runIdle = summary.StepsCompleted > 0 && summary.TotalOptimizerUpdates == 0;
        if (sessionIdle || runIdle)
        {
            var which = summary.StepsRun == 0 ? "every step of the run skipped its update in an earlier session"
                : summary.StepsRun == 1 ? "the only step it ran skipped its update" : $"all {summary.StepsRun} steps it ran skipped their update";
            var reason = summary.LastSkipReason is { } r ? $" ({Reason(r)})" : "";
            var next = summary.TotalOptimizerUpdates == 0 ? "run again with --fresh" : "run again with more --steps to resume";
            Console.Error.WriteLine($"omni: no update happened: {which}{reason}. The weights are unchanged by it; fix the cause and {next}.");
            return ExitCodes.NoUpdate;
        }
        if (summary.SkippedSteps > 0)
            Console.Error.WriteLine($"omni: warning: {summary.SkippedSteps} of {summary.StepsRun} steps skipped their update (last: {Reason(summary.LastSkipReason!)}).");
        return ExitCodes.Ok;
    }

    // The trainer's reasons read "update skipped: <why>; weights unchanged": here only the why is news.
    private static string Reason(string skip)
    {
        var why = skip.StartsWith("update skipped: ", StringComparison.Ordinal) ? skip["update skipped: ".Length..] : skip;
        var tail = why.LastIndexOf("; weights ", StringComparison.Ordinal);
        return tail > 0 ? why[..tail] : why;
    }
}
