using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// The differentiable all-gather of a group of shards (TorchSharp has no backward hooks, so the reduce-scatter lives in
/// this function's backward): forward returns the full tensors, backward reduce-scatters their gradients into shard
/// gradients, which autograd accumulates into each shard's <c>grad</c> — micro-batch accumulation works unchanged.
/// A failed collective inside backward cannot be thrown through the native autograd engine, so it ends the job with a
/// message instead.
/// </summary>
internal sealed class UnitGatherFunction : autograd.MultiTensorFunction<UnitGatherFunction>
{
    private const string GroupKey = "group";

    /// <inheritdoc />
    public override string Name => nameof(UnitGatherFunction);

    /// <summary>Gathers <paramref name="group"/>'s shards with autograd recording the gather.</summary>
    public static List<Tensor> Apply(ShardGroup group, IReadOnlyList<Tensor> shards) => apply([group, .. shards]);

    /// <inheritdoc />
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var group = (ShardGroup)vars[0];
        ctx.save_data(GroupKey, group);
        return [.. group.Gather(vars.Skip(1).Cast<Tensor>().ToList())];
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var group = (ShardGroup)ctx.get_data(GroupKey);
        try
        {
            var shardGradients = group.ReduceScatter(grad_outputs);
            return [null!, .. shardGradients.Select((g, i) => group.Members[i].RequiresGrad ? g! : null!)];
        }
        catch (Exception e)
        {
            group.Collectives.Abort($"the gradient reduce-scatter failed: {e.Message}");
            throw;
        }
    }
}
