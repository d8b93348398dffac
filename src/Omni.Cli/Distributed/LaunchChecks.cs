using LanguageExt;
using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Algebra.Training;
using Omni.Training.Options;

namespace Omni.Cli.Distributed;

/// <summary>
/// What a multi-rank launch can be refused for before any work starts (exit code 2): an unknown or unsuitable sharding
/// mode or backend, invalid training options, or a world size that cannot split the step into equal whole prompt groups.
/// The same checks run in the launcher and in every rank of an <c>mpiexec</c> launch.
/// </summary>
public static class LaunchChecks
{
    /// <summary>
    /// Throws an <see cref="OmniException"/> listing every problem of launching <paramref name="worldSize"/> ranks with
    /// <paramref name="options"/>: the sharding and backend settings, the split of the step (when the options bind), and —
    /// when <paramref name="withOptionProblems"/> — the options' own problems (the launcher reports them; a rank leaves them
    /// to the job, which reports them with the rest of its settings).
    /// </summary>
    public static void Validate(IConfiguration configuration, int worldSize, Validation<OmniError, TrainingOptions> options, bool withOptionProblems)
    {
        var problems = new List<OmniError>();
        try { RankSession.Settings(configuration, worldSize); }
        catch (OmniException e) { problems.AddRange(e.Errors); }
        if (withOptionProblems) problems.AddRange(options.Match(Succ: _ => [], Fail: e => e.ToList()));
        options.Match(
            Succ: o => problems.AddRange(RankShare.Of(o.PromptsPerStep, o.GroupSize, o.MicroBatchSize, o.MiniBatchesPerEpoch, 0, worldSize)
                .Match(Succ: _ => [], Fail: e => e.ToList())),
            Fail: _ => { });
        if (problems.Count > 0) throw new OmniException(problems.Distinct().ToList());
    }

    /// <summary>The command line without <c>--nproc N</c> (or <c>--nproc=N</c>): what each rank runs.</summary>
    public static IReadOnlyList<string> WithoutNproc(IReadOnlyList<string> arguments)
    {
        var kept = new List<string>();
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == "--nproc") { i++; continue; }
            if (arguments[i].StartsWith("--nproc=", StringComparison.Ordinal)) continue;
            kept.Add(arguments[i]);
        }
        return kept;
    }
}
