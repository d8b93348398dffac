using System.Collections.Immutable;
using System.Text.Json;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Training;
using Omni.Effects.Distributed;
using Omni.Effects.Distributed.Sharding;
using Omni.Training.Options;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Training.Distributed;

/// <summary>
/// What a training run needs to agree on across ranks, and the one place the trainer asks for it: which prompt groups this
/// rank rolls out, the global rewards, skip and stop decisions, metric means, and the gradient reduction (DDP's bucketed
/// all-reduce, or FSDP's reduce-scatter already done in backward) with the global gradient norm. For one process every
/// call is the identity, so the trainer has a single code path.
/// </summary>
public sealed class DataParallel
{
    /// <summary>A run in one process: nothing is exchanged.</summary>
    public static DataParallel SingleProcess { get; } = new(new SingleProcessCollectives(), ShardingMode.None);

    /// <summary>Creates the context over <paramref name="collectives"/>.</summary>
    /// <param name="collectives">The job's collectives.</param>
    /// <param name="mode">How the model is split.</param>
    /// <param name="shards">The policy module's FSDP sharding (FSDP only).</param>
    /// <param name="referenceShards">The frozen KL reference's FSDP sharding, when it is a separate module (FSDP only).</param>
    public DataParallel(ICollectives collectives, ShardingMode mode, FullyShardedModule? shards = null, FullyShardedModule? referenceShards = null)
    {
        if (mode == ShardingMode.Fsdp && shards is null) throw new ArgumentException("FSDP needs the sharded module.", nameof(shards));
        (Collectives, Mode, Shards, ReferenceShards) = (collectives, mode, shards, referenceShards);
    }

    /// <summary>The job's collectives.</summary>
    public ICollectives Collectives { get; }

    /// <summary>How the model is split.</summary>
    public ShardingMode Mode { get; }

    /// <summary>The policy's FSDP sharding, if any.</summary>
    public FullyShardedModule? Shards { get; }

    /// <summary>The reference module's FSDP sharding, if any.</summary>
    public FullyShardedModule? ReferenceShards { get; }

    /// <summary>The distillation teacher's FSDP sharding, if any.</summary>
    public FullyShardedModule? TeacherShards { get; init; }

    /// <summary>This rank.</summary>
    public int Rank => Collectives.Rank;

    /// <summary>Ranks in the job.</summary>
    public int WorldSize => Collectives.WorldSize;

    /// <summary>True on rank 0, which alone writes metrics, samples, plots, checkpoints' shared files and exports.</summary>
    public bool IsLeader => Collectives.Rank == 0;

    /// <summary>This rank's part of each step, or why the world size cannot split the step.</summary>
    public Validation<OmniError, RankShare> Share(TrainingOptions o) =>
        RankShare.Of(o.PromptsPerStep, o.GroupSize, o.MicroBatchSize, o.MiniBatchesPerEpoch, Rank, WorldSize);

    /// <summary>The denoiser the trainer calls: under FSDP, one that gathers the units before each call.</summary>
    public IDenoiser Denoiser(IDenoiser module) => Shards is { IsUnsharded: false } s ? s.Wrap(module) : module;

    /// <summary>Every rank's rewards in rank order (the whole step's, in global sample order).</summary>
    public float[] GatherRewards(float[] local) => Collectives.GatherValues(local);

    /// <summary>Null on every rank when no rank failed; else the lowest failing rank's reason, naming that rank.</summary>
    public string? Agree(string? localFailure) => WorldSize == 1 ? localFailure : Collectives.FirstFailure(localFailure);

    /// <summary>Whether any rank says yes (a stop request, for example).</summary>
    public bool AnyRank(bool flag) => Collectives.AnyRank(flag);

    /// <summary>Each metric's mean over the ranks that report it (rank 0 reports the result).</summary>
    public ImmutableDictionary<string, double> MeanOverRanks(IReadOnlyDictionary<string, double> local)
    {
        if (WorldSize == 1) return local.ToImmutableDictionary();
        var all = Collectives.AllGatherStrings(JsonSerializer.Serialize(local.Where(p => double.IsFinite(p.Value)).ToDictionary()))
            .Select(j => JsonSerializer.Deserialize<Dictionary<string, double>>(j)!).ToList();
        return all.SelectMany(d => d).GroupBy(p => p.Key).ToImmutableDictionary(g => g.Key, g => g.Average(p => p.Value));
    }

    /// <summary>
    /// Completes the accumulated gradients across ranks and returns their global L2 norm: DDP averages them with bucketed
    /// all-reduces (then every rank holds the same gradient); FSDP's shard gradients are already averaged, so their squared
    /// norms are summed over the ranks (padding rows are zero).
    /// </summary>
    public double ReduceGradients(IReadOnlyList<Parameter> trainable)
    {
        CompleteGradients(trainable);
        return GlobalNorm(SquaredNorm(trainable));
    }

    /// <summary>
    /// The device half of <see cref="ReduceGradients"/>, with no host read: DDP's bucketed all-reduce (average) of
    /// <paramref name="trainable"/>'s gradients; under FSDP they were reduce-scattered in backward, so only the last gather
    /// is released. Every rank must call it (it is a collective).
    /// </summary>
    public void CompleteGradients(IReadOnlyList<Parameter> trainable)
    {
        switch (Mode)
        {
            case ShardingMode.Fsdp:
                Shards!.Release();
                break;
            case ShardingMode.Ddp:
                GradientBuckets.AllReduceAverage(Collectives, trainable);
                break;
        }
    }

    /// <summary>
    /// The global gradient norm from this rank's squared norm (read after <see cref="CompleteGradients"/>): under FSDP each
    /// rank holds a different shard, so the squares are summed over the ranks (a collective); otherwise every rank already
    /// holds the whole gradient.
    /// </summary>
    public double GlobalNorm(double localSquaredNorm) =>
        Math.Sqrt(Mode == ShardingMode.Fsdp ? Collectives.ReduceValues([localSquaredNorm])[0] : localSquaredNorm);

    /// <summary>After a backward pass: FSDP drops the gathered parameters (their gradients are in the shards now).</summary>
    public void AfterBackward() => Shards?.Release();

    /// <summary>Waits for every rank (while rank 0 writes or evaluates, for example).</summary>
    public void Barrier() => Collectives.Barrier();

    /// <summary>The sum of squared gradient entries, in float64 (parameters without a gradient count as zero).</summary>
    public static double SquaredNorm(IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var total = 0.0;
        foreach (var p in parameters)
            if (p.grad is { } g) total += g.to(ScalarType.Float64).pow(2).sum().item<double>();
        return total;
    }
}
