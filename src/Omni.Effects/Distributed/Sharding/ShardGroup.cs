using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// Parameters gathered by one collective: a unit's trainable parameters, or its frozen ones. The shards are packed into
/// one flat buffer (copy-in, cast to the compute dtype), all-gathered rank-major into world size × that buffer, and each
/// full tensor is copied out of its columns. Gradients go the other way: the full gradients are packed rank-major,
/// reduce-scattered (averaged) in the reduce dtype, and split into shard gradients.
/// </summary>
internal sealed class ShardGroup
{
    private readonly long[] _offsets;

    public ShardGroup(IReadOnlyList<ShardedParameter> members, ICollectives collectives, ScalarType? computeDtype, ScalarType reduceDtype)
    {
        (Members, Collectives, ComputeDtype, ReduceDtype) = (members, collectives, computeDtype, reduceDtype);
        _offsets = new long[members.Count];
        long offset = 0;
        for (var i = 0; i < members.Count; i++)
        {
            _offsets[i] = offset;
            offset += members[i].ShardElements;
        }
        ShardElements = offset;
    }

    public IReadOnlyList<ShardedParameter> Members { get; }

    public ICollectives Collectives { get; }

    /// <summary>The dtype full tensors are gathered in (null: each parameter's own dtype, which must then agree).</summary>
    public ScalarType? ComputeDtype { get; }

    /// <summary>The dtype gradients are reduced in.</summary>
    public ScalarType ReduceDtype { get; }

    /// <summary>Elements of this rank's packed shards.</summary>
    public long ShardElements { get; }

    private ScalarType GatherDtype => ComputeDtype ?? Members[0].Shard.dtype;

    /// <summary>The full tensors from the ranks' shards (no autograd: callers wrap this in the gather function when training).</summary>
    public Tensor[] Gather(IReadOnlyList<Tensor> shards)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = shards[0].device;
        var send = empty(ShardElements, GatherDtype, device);
        for (var i = 0; i < Members.Count; i++)
            send.narrow(0, _offsets[i], Members[i].ShardElements).view(Members[i].ShardShape).copy_(shards[i]);
        var world = Collectives.WorldSize;
        var gathered = empty(world * ShardElements, GatherDtype, device);
        Collectives.AllGather(send, gathered);
        var byRank = gathered.view(world, ShardElements);
        var full = new Tensor[Members.Count];
        for (var i = 0; i < Members.Count; i++)
        {
            var m = Members[i];
            full[i] = byRank.narrow(1, _offsets[i], m.ShardElements).reshape(world * m.RowsPerRank, m.RowElements)
                .narrow(0, 0, m.FullRows).reshape(m.FullShape).contiguous().clone().MoveToOuterDisposeScope();
        }
        return full;
    }

    /// <summary>The shard gradients (in each shard's dtype) from the full gradients of this rank (null: no gradient reached it).</summary>
    public Tensor?[] ReduceScatter(IReadOnlyList<Tensor?> fullGradients)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var world = Collectives.WorldSize;
        var device = Members[0].Shard.device;
        var packed = zeros([world, ShardElements], ReduceDtype, device);
        for (var i = 0; i < Members.Count; i++)
        {
            if (fullGradients[i] is not { } g || g.IsInvalid) continue;
            var m = Members[i];
            var rows = zeros([world * m.RowsPerRank, m.RowElements], ReduceDtype, device);
            rows.narrow(0, 0, m.FullRows).copy_(g.reshape(m.FullRows, m.RowElements));
            packed.narrow(1, _offsets[i], m.ShardElements).copy_(rows.view(world, m.ShardElements));
        }
        var mine = empty(ShardElements, ReduceDtype, device);
        Collectives.ReduceScatter(packed.view(-1), mine, ReduceOp.Average);
        var result = new Tensor?[Members.Count];
        for (var i = 0; i < Members.Count; i++)
            result[i] = mine.narrow(0, _offsets[i], Members[i].ShardElements).view(Members[i].ShardShape)
                .to(Members[i].Shard.dtype).clone().MoveToOuterDisposeScope();
        return result;
    }
}
