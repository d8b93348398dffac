using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// One FSDP unit (a transformer block, or the parameters outside every block): its parameters are gathered together before
/// the unit computes — trainable ones through the differentiable gather, frozen ones (LoRA base weights, a KL reference)
/// by a plain all-gather that needs no reduce-scatter — and dropped again afterwards.
/// </summary>
public sealed class ShardedUnit
{
    private readonly ShardGroup? _trainable;
    private readonly ShardGroup? _frozen;
    private readonly List<Parameter> _shown = [];

    internal ShardedUnit(string name, IReadOnlyList<ShardedParameter> parameters, ICollectives collectives, ShardingPrecision precision)
    {
        Name = name;
        Parameters = parameters;
        var trainable = parameters.Where(p => p.RequiresGrad).ToList();
        var frozen = parameters.Where(p => !p.RequiresGrad).ToList();
        if (trainable.Count > 0) _trainable = new ShardGroup(trainable, collectives, precision.ParamDtype, precision.ReduceDtype);
        if (frozen.Count > 0) _frozen = new ShardGroup(frozen, collectives, precision.ParamDtype, precision.ReduceDtype);
        foreach (var group in new[] { _trainable, _frozen })
            if (group is { ComputeDtype: null } && group.Members.Select(m => m.Shard.dtype).Distinct().Count() > 1)
                throw new NotSupportedException($"FSDP unit '{name}' mixes parameter dtypes ({string.Join(", ", group.Members.Select(m => m.Shard.dtype).Distinct())}); gather it in one compute dtype.");
    }

    /// <summary>The unit's name: its module path (<c>transformer_blocks.3</c>), or <c>(root)</c> for everything outside the blocks.</summary>
    public string Name { get; }

    /// <summary>The unit's parameters.</summary>
    public IReadOnlyList<ShardedParameter> Parameters { get; }

    /// <summary>Whether full parameters are currently in place.</summary>
    public bool IsGathered { get; private set; }

    /// <summary>Whether the gathered trainable parameters carry gradients back to the shards.</summary>
    public bool GatheredWithGrad { get; private set; }

    /// <summary>Puts full parameters in place: one collective per group; recorded by autograd when <paramref name="withGrad"/>.</summary>
    internal void Gather(bool withGrad)
    {
        if (IsGathered && GatheredWithGrad == withGrad) return;
        Release();
        Show(_trainable, withGrad);
        Show(_frozen, withGrad: false);
        (IsGathered, GatheredWithGrad) = (true, withGrad);
    }

    private void Show(ShardGroup? group, bool withGrad)
    {
        if (group is null) return;
        var shards = group.Members.Select(m => (Tensor)m.Shard).ToList();
        using var scope = NewDisposeScope();
        IReadOnlyList<Tensor> full = withGrad ? UnitGatherFunction.Apply(group, shards) : group.Gather(shards);
        for (var i = 0; i < group.Members.Count; i++)
        {
            var view = new Parameter(full[i], requires_grad: full[i].requires_grad);
            view.DetachFromDisposeScope();
            _shown.Add(view);
            group.Members[i].Slot.Show(view);
        }
    }

    /// <summary>Drops the full parameters (autograd keeps what a pending backward still needs).</summary>
    internal void Release()
    {
        foreach (var p in Parameters) p.Slot.Show(p.Shard);
        foreach (var view in _shown) view.Dispose();
        _shown.Clear();
        (IsGathered, GatheredWithGrad) = (false, false);
    }
}
