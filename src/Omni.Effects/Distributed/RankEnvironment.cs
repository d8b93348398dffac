using System.Collections;
using System.Globalization;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Effects.Distributed;

/// <summary>
/// Where this process sits in a multi-process job, as its launcher announced it through environment variables:
/// global rank and world size, and the rank and rank count on this host (one GPU per local rank; CPU threads split
/// between the local ranks).
/// </summary>
/// <param name="Rank">This process's rank, 0 ≤ rank &lt; world size.</param>
/// <param name="WorldSize">Processes in the job.</param>
/// <param name="LocalRank">This process's rank among those on its host.</param>
/// <param name="LocalWorldSize">Processes on this host.</param>
/// <param name="Launcher">Who set the variables (<c>mpiexec (Hydra)</c>, <c>Open MPI</c>, <c>Slurm</c>, <c>torchrun-style</c>, or <c>none</c>).</param>
public sealed record RankEnvironment(int Rank, int WorldSize, int LocalRank, int LocalWorldSize, string Launcher)
{
    /// <summary>One process, not launched as part of a job.</summary>
    public static RankEnvironment SingleProcess { get; } = new(0, 1, 0, 1, "none");

    /// <summary>True when more than one process takes part.</summary>
    public bool IsDistributed => WorldSize > 1;

    /// <summary>True on rank 0, the rank that writes metrics, samples, plots and exports.</summary>
    public bool IsLeader => Rank == 0;

    /// <summary>Reads the current process's environment (see <see cref="FromVariables"/>).</summary>
    public static Either<OmniError, RankEnvironment> Current() =>
        FromVariables(Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value));

    /// <summary>
    /// The rank layout a launcher announced, in this order of preference: MPICH's Hydra (<c>PMI_RANK</c>/<c>PMI_SIZE</c>,
    /// <c>MPI_LOCALRANKID</c>/<c>MPI_LOCALNRANKS</c>), Open MPI (<c>OMPI_COMM_WORLD_*</c>), Slurm (<c>SLURM_PROCID</c>/
    /// <c>SLURM_NTASKS</c>/<c>SLURM_LOCALID</c>) and torchrun-style variables (<c>RANK</c>/<c>WORLD_SIZE</c>/<c>LOCAL_RANK</c>/
    /// <c>LOCAL_WORLD_SIZE</c>). None of them: a single process. Inconsistent values are an error that names the variables.
    /// </summary>
    public static Either<OmniError, RankEnvironment> FromVariables(IReadOnlyDictionary<string, string?> variables)
    {
        (string Launcher, string Rank, string Size, string LocalRank, string LocalSize)[] conventions =
        [
            ("mpiexec (Hydra)", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
            ("Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
            ("Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"),
            ("torchrun-style", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"),
        ];
        foreach (var c in conventions)
        {
            if (!variables.ContainsKey(c.Rank) && !variables.ContainsKey(c.Size)) continue;
            return from rank in Number(variables, c.Rank, c.Launcher)
                   from size in Number(variables, c.Size, c.Launcher)
                   from localRank in Optional(variables, c.LocalRank, c.Launcher, fallback: size == 1 ? 0 : rank)
                   from localSize in Optional(variables, c.LocalSize, c.Launcher, fallback: size, leadingInteger: true)
                   from layout in Check(new RankEnvironment(rank, size, localRank, localSize, c.Launcher), c)
                   select layout;
        }
        return Right<OmniError, RankEnvironment>(SingleProcess);
    }

    private static Either<OmniError, int> Number(IReadOnlyDictionary<string, string?> variables, string name, string launcher) =>
        variables.TryGetValue(name, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? Right<OmniError, int>(value)
            : Left<OmniError, int>(OmniError.Invalid(
                $"The {launcher} launch variables are incomplete: {name} is {(text is null ? "not set" : $"'{text}', not a non-negative integer")}."));

    // Slurm writes tasks per node as "2(x3)" (2 tasks on each of 3 nodes): the count is the leading integer.
    private static Either<OmniError, int> Optional(IReadOnlyDictionary<string, string?> variables, string name, string launcher, int fallback,
                                                   bool leadingInteger = false)
    {
        if (!variables.TryGetValue(name, out var text) || text is null) return fallback;
        var digits = leadingInteger ? new string(text.TakeWhile(char.IsAsciiDigit).ToArray()) : text;
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? Right<OmniError, int>(value)
            : Number(variables, name, launcher);
    }

    private static Either<OmniError, RankEnvironment> Check(RankEnvironment e,
        (string Launcher, string Rank, string Size, string LocalRank, string LocalSize) c)
    {
        if (e.WorldSize < 1)
            return OmniError.Invalid($"{c.Size}={e.WorldSize}: a job has at least one process.");
        if (e.Rank >= e.WorldSize)
            return OmniError.Invalid($"{c.Rank}={e.Rank} is not below {c.Size}={e.WorldSize}.");
        if (e.LocalWorldSize < 1 || e.LocalWorldSize > e.WorldSize)
            return OmniError.Invalid($"{c.LocalSize}={e.LocalWorldSize} must lie between 1 and {c.Size}={e.WorldSize}.");
        if (e.LocalRank >= e.LocalWorldSize)
            return OmniError.Invalid($"{c.LocalRank}={e.LocalRank} is not below {c.LocalSize}={e.LocalWorldSize}.");
        return e;
    }

    /// <inheritdoc />
    public override string ToString() =>
        WorldSize == 1 ? "single process" : $"rank {Rank} of {WorldSize} (local {LocalRank} of {LocalWorldSize}, launched by {Launcher})";
}
