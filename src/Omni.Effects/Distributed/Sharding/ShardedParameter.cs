using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// One parameter split on dim 0 across the ranks, FSDP style: the full tensor [d0, …] is padded to world size × rows-per-rank
/// rows and rank r holds rows [r·c, (r+1)·c) as its shard [c, …] (zeros past d0). A 0-dim parameter is treated as [1].
/// </summary>
public sealed class ShardedParameter
{
    internal ShardedParameter(string name, ParameterSlot slot, long[] fullShape, long rowsPerRank, long rowElements, Parameter shard)
    {
        (Name, Slot, FullShape, RowsPerRank, RowElements, Shard) = (name, slot, fullShape, rowsPerRank, rowElements, shard);
    }

    /// <summary>The parameter's name in the unsharded model (<c>transformer_blocks.0.attn.to_q.weight</c>).</summary>
    public string Name { get; }

    internal ParameterSlot Slot { get; }

    /// <summary>The full (unsharded) shape.</summary>
    public long[] FullShape { get; }

    /// <summary>Rows of dim 0 each rank holds (c = ⌈d0 / world size⌉).</summary>
    public long RowsPerRank { get; }

    /// <summary>Elements in one row (the product of the dims after the first).</summary>
    public long RowElements { get; }

    /// <summary>This rank's shard [c, …], registered in the model under <see cref="Name"/>.</summary>
    public Parameter Shard { get; internal set; }

    /// <summary>Rows of the full tensor (1 for a 0-dim parameter).</summary>
    public long FullRows => FullShape.Length == 0 ? 1 : FullShape[0];

    /// <summary>Elements of one shard.</summary>
    public long ShardElements => RowsPerRank * RowElements;

    /// <summary>The shard's shape.</summary>
    public long[] ShardShape => FullShape.Length == 0 ? [RowsPerRank] : [RowsPerRank, .. FullShape.Skip(1)];

    /// <summary>Whether the parameter trains (its gathered copy then carries gradients back to the shard).</summary>
    public bool RequiresGrad => Shard.requires_grad;

    /// <summary>Rank <paramref name="rank"/>'s shard of <paramref name="full"/> (this parameter's full shape): a new tensor, zero-padded.</summary>
    public Tensor SliceOf(Tensor full, int rank)
    {
        using var scope = NewDisposeScope();
        var rows = full.reshape(FullRows, RowElements);
        var shard = zeros([RowsPerRank, RowElements], full.dtype, full.device);
        var first = rank * RowsPerRank;
        var count = Math.Clamp(FullRows - first, 0, RowsPerRank);
        if (count > 0) shard.narrow(0, 0, count).copy_(rows.narrow(0, first, count));
        return shard.reshape(ShardShape).MoveToOuterDisposeScope();
    }

    /// <summary>The full tensor from every rank's shard in rank order (a concatenation of world size × c rows, cut to d0).</summary>
    public Tensor Assemble(IReadOnlyList<Tensor> shards)
    {
        using var scope = NewDisposeScope();
        var rows = cat(shards.Select(s => s.reshape(RowsPerRank, RowElements)).ToArray(), 0).narrow(0, 0, FullRows);
        return rows.reshape(FullShape).contiguous().MoveToOuterDisposeScope();
    }
}
