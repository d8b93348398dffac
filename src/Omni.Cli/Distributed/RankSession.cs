using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Cli.Cli;
using Omni.Effects.Distributed;
using Omni.Effects.Distributed.Sharding;
using TorchSharp;

namespace Omni.Cli.Distributed;

/// <summary>
/// This process's part in a (possibly one-rank) training job: its rank layout, the collectives, the sharding mode. Made at
/// the start of <c>omni train</c>; for one process without FSDP it is inert. Only rank 0 talks to the console.
/// </summary>
public sealed class RankSession : IDisposable
{
    /// <summary>The configuration key of the sharding mode (<c>--sharding</c>).</summary>
    public const string ShardingKey = "distributed:sharding";

    /// <summary>The configuration key of the collectives backend (<c>--backend</c>).</summary>
    public const string BackendKey = "distributed:backend";

    /// <summary>Set by <c>omni train --nproc</c> for its ranks: where they register their process ids and failures.</summary>
    public const string LaunchFolderVariable = "OMNI_LAUNCH_DIR";

    private RankSession(RankEnvironment layout, ShardingMode sharding, ICollectives? collectives) =>
        (Layout, Sharding, Collectives) = (layout, sharding, collectives);

    /// <summary>This rank's layout.</summary>
    public RankEnvironment Layout { get; }

    /// <summary>How the model is split.</summary>
    public ShardingMode Sharding { get; }

    /// <summary>The collectives (null when nothing is distributed or sharded).</summary>
    public ICollectives? Collectives { get; }

    /// <summary>Whether several ranks take part.</summary>
    public bool IsDistributed => Layout.IsDistributed;

    /// <summary>Whether this rank reports (rank 0).</summary>
    public bool IsLeader => Layout.IsLeader;

    /// <summary>Writes a line on rank 0 only.</summary>
    public void Say(string line)
    {
        if (IsLeader) Console.WriteLine(line);
    }

    /// <summary>Waits for every rank (while rank 0 evaluates or writes).</summary>
    public void Barrier() => Collectives?.Barrier();

    /// <summary>The sharding mode and backend from configuration, with one-process defaults; unknown names are errors.</summary>
    public static (ShardingMode Sharding, CollectivesBackend Backend) Settings(IConfiguration configuration, int worldSize)
    {
        var sharding = ShardingModes.Parse(configuration[ShardingKey], worldSize > 1 ? ShardingMode.Ddp : ShardingMode.None).OrThrow();
        var backendText = configuration[BackendKey];
        var backend = string.IsNullOrWhiteSpace(backendText) ? CollectivesBackend.Auto
            : Enum.TryParse<CollectivesBackend>(backendText, ignoreCase: true, out var b) && Enum.IsDefined(b) && !int.TryParse(backendText, out _) ? b
            : throw new OmniException([OmniError.Invalid($"Unknown backend '{backendText}'. Use auto, mpi or nccl.")]);
        if (sharding == ShardingMode.None && worldSize > 1)
            throw new OmniException([OmniError.Invalid($"--sharding none cannot serve {worldSize} ranks (each would train its own model into the same run folder). Use ddp or fsdp.")]);
        return (sharding, backend);
    }

    /// <summary>
    /// Joins the job this process was started in (or stands alone): reads the launcher's variables, gives the rank its GPU
    /// and its share of the CPU threads, then starts the collectives on <paramref name="device"/> (the device the model will
    /// live on). Problems a user can fix — bad variables, a sharding mode or backend the launch cannot serve — are
    /// <see cref="OmniException"/>s (exit code 2), raised before any work.
    /// </summary>
    public static RankSession Start(IConfiguration configuration, torch.Device device)
    {
        var layout = RankEnvironment.Current().OrThrow();
        var (sharding, backend) = Settings(configuration, layout.WorldSize);
        if (!layout.IsDistributed && sharding != ShardingMode.Fsdp && backend != CollectivesBackend.Nccl)
            return new RankSession(layout, sharding, null);
        RankPlacement.AssignGpu(layout);
        if (layout.IsDistributed && device.type == DeviceType.CPU) RankPlacement.SplitCpuThreads(layout);
        ICollectives collectives;
        try { collectives = Effects.Distributed.Collectives.Start(layout, backend, device); }
        catch (DistributedException e) { throw new OmniException([OmniError.Invalid(e.Message)]); }
        Register(layout);
        return new RankSession(layout, sharding, collectives);
    }

    /// <summary>The FSDP gather policy for this run (bf16 compute when training in bf16-mixed; float32 otherwise).</summary>
    public static ShardingPrecision PrecisionFor(bool bf16Compute) => bf16Compute ? ShardingPrecision.Bf16Compute : ShardingPrecision.Full;

    /// <summary>One line for the run header: <c>2 ranks (MPICH 4.0.2), sharding ddp</c>.</summary>
    public string Describe() => Collectives is null
        ? "one process"
        : $"{Layout.WorldSize} rank{(Layout.WorldSize == 1 ? "" : "s")} ({Collectives.Backend}), sharding {Sharding.Name()}";

    /// <summary>
    /// Ends a failed rank of a multi-rank job: records the failure for the launcher, prints it with the rank and aborts the
    /// job (the other ranks would otherwise wait in their next collective).
    /// </summary>
    public int Fail(Exception e)
    {
        var code = CliFailure.IsBadInput(e) ? ExitCodes.BadInput : ExitCodes.Failure;
        var message = CliFailure.IsBadInput(e) ? CliFailure.Message(e) : $"{e.GetType().Name}: {e.Message}";
        if (Environment.GetEnvironmentVariable("OMNI_DEBUG") == "1") Console.Error.WriteLine(e);
        if (Environment.GetEnvironmentVariable(LaunchFolderVariable) is { Length: > 0 } folder)
            TryWrite(Path.Combine(folder, $"rank-{Layout.Rank}.failed"), message);
        if (Collectives is null || !IsDistributed)
        {
            Console.Error.WriteLine($"omni: {message}");
            return code;
        }
        Collectives.Abort(message, code);
        return code;
    }

    // omni train --nproc watches these files to name a rank that dies without a word (killed, out of memory).
    private static void Register(RankEnvironment layout)
    {
        if (Environment.GetEnvironmentVariable(LaunchFolderVariable) is { Length: > 0 } folder)
            TryWrite(Path.Combine(folder, $"rank-{layout.Rank}.pid"), $"{Environment.ProcessId} {Environment.MachineName}");
    }

    private static void TryWrite(string path, string text)
    {
        try { File.WriteAllText(path, text); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <inheritdoc />
    public void Dispose() => Collectives?.Dispose();
}
