using Omni.Effects.Distributed;
using Omni.Effects.Distributed.Sharding;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.ShapesModel;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// FSDP's per-rank parameter bytes on the bundled shapes model: at world size 2 each rank holds at most 0.55 of the
/// world-size-1 bytes (padding included), and the shards of all ranks cover every parameter exactly once. Sharding itself
/// exchanges nothing, so each rank's layout is built here in one process; bench/ measures gradients and AdamW state in a
/// real two-rank run.
/// </summary>
public sealed class ShardMemoryTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Each_rank_holds_about_one_share_of_the_parameter_bytes(int world)
    {
        using var scope = NewDisposeScope();
        using var whole = Load();
        var full = whole.Transformer.parameters().Sum(p => p.numel() * p.ElementSize);
        for (var rank = 0; rank < world; rank++)
        {
            using var pipeline = Load();
            using var collectives = new LayoutOnlyCollectives(rank, world);
            using var fsdp = FullyShardedModule.Shard(pipeline.Transformer, collectives);
            var registered = pipeline.Transformer.parameters().Sum(p => p.numel() * p.ElementSize);
            Assert.Equal(fsdp.ShardBytes, registered);
            Assert.True(registered <= (world == 2 ? 0.55 : 0.4) * full, $"rank {rank} of {world} holds {registered} of {full} bytes");
            Assert.All(fsdp.Parameters, p => Assert.True(p.RowsPerRank * world - p.FullRows < world, $"{p.Name} is over-padded"));
        }
    }

    private static ShapesPipeline Load()
    {
        var folder = Path.Combine(TinyShapes.RepositoryRoot(), "models", "omni-shapes-tiny");
        return ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
    }

    /// <summary>Stands in for rank <c>rank</c> of <c>world</c> where only the layout matters (no collective may be called).</summary>
    private sealed class LayoutOnlyCollectives(int rank, int world) : ICollectives
    {
        public RankEnvironment Layout { get; } = new(rank, world, rank, world, "test");
        public string Backend => "layout only";
        public Device Device => CPU;
        public TimeSpan Timeout => TimeSpan.Zero;
        public CollectiveTraffic Traffic { get; } = new();
        public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => throw new InvalidOperationException("no collectives here");
        public void AllGather(Tensor input, Tensor output) => throw new InvalidOperationException("no collectives here");
        public void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum) => throw new InvalidOperationException("no collectives here");
        public void Broadcast(Tensor tensor, int root = 0) => throw new InvalidOperationException("no collectives here");
        public void Barrier() => throw new InvalidOperationException("no collectives here");
        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        public void Abort(string message, int exitCode = 1) => throw new InvalidOperationException(message);
        public void Dispose() { }
    }
}
