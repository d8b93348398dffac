using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// FSDP / ZeRO-3 over a TorchSharp module: every parameter is split on dim 0 across the ranks (padded), so parameters,
/// gradients and optimizer state (built over <c>module.parameters()</c> afterwards) are held once per job instead of once
/// per rank. Units — each element of a block list such as <c>transformer_blocks</c>, plus one unit for the rest — are
/// gathered before the model computes and released after; gradients of trainable parameters are reduce-scattered
/// (averaged) into the shards by the gather's backward. Build it after moving the model to its device, and build the
/// optimizer after it.
/// </summary>
public sealed class FullyShardedModule : IDisposable
{
    /// <summary>The unit holding every parameter outside the block lists.</summary>
    public const string RootUnit = "(root)";

    private FullyShardedModule(nn.Module module, ICollectives collectives, ShardingPrecision precision, IReadOnlyList<ShardedUnit> units)
    {
        (Module, Collectives, Precision, Units) = (module, collectives, precision, units);
        Parameters = units.SelectMany(u => u.Parameters).OrderBy(p => Order(module, p.Name)).ToList();
    }

    /// <summary>The sharded module (its registered parameters are now this rank's shards).</summary>
    public nn.Module Module { get; }

    /// <summary>The collectives the units gather and reduce over.</summary>
    public ICollectives Collectives { get; }

    /// <summary>The mixed-precision policy.</summary>
    public ShardingPrecision Precision { get; }

    /// <summary>The units in model order.</summary>
    public IReadOnlyList<ShardedUnit> Units { get; }

    /// <summary>Every sharded parameter, in the module's parameter order.</summary>
    public IReadOnlyList<ShardedParameter> Parameters { get; }

    /// <summary>Whether <see cref="Unshard"/> has put full parameters back for good.</summary>
    public bool IsUnsharded { get; private set; }

    /// <summary>
    /// Shards <paramref name="module"/> in place over <paramref name="collectives"/>. Every rank must hold the same values
    /// (load the same weights, or broadcast rank 0's first); each keeps its own rows.
    /// </summary>
    /// <param name="module">The model, already on its device.</param>
    /// <param name="collectives">The job's collectives.</param>
    /// <param name="precision">Gather and reduce dtypes.</param>
    /// <param name="unitPrefixes">Module paths of the units (default: every element of every block list directly under the module).</param>
    /// <exception cref="NotSupportedException">A parameter cannot be redirected (no field of its name in its module).</exception>
    public static FullyShardedModule Shard(nn.Module module, ICollectives collectives, ShardingPrecision? precision = null,
                                           IReadOnlyList<string>? unitPrefixes = null)
    {
        precision ??= ShardingPrecision.Full;
        var modules = module.named_modules().ToDictionary(m => m.name, m => m.module);
        modules[""] = module;
        var prefixes = unitPrefixes ?? DefaultUnits(module);
        var world = collectives.WorldSize;
        var byUnit = new Dictionary<string, List<ShardedParameter>>();
        using (no_grad())
        {
            foreach (var (name, parameter) in module.named_parameters().ToList())
            {
                var slot = ParameterSlot.Find(modules, name, parameter);
                var shape = parameter.shape;
                var rows = shape.Length == 0 ? 1 : shape[0];
                var rowElements = shape.Length <= 1 ? 1 : shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                var perRank = (rows + world - 1) / world;
                var placeholder = new ShardedParameter(name, slot, shape, perRank, rowElements, null!);
                var shard = new Parameter(placeholder.SliceOf(parameter, collectives.Rank), parameter.requires_grad);
                placeholder.Shard = shard;
                slot.Hold(shard);
                slot.Show(shard);
                parameter.Dispose();
                var unit = prefixes.FirstOrDefault(p => name.StartsWith(p + ".", StringComparison.Ordinal)) ?? RootUnit;
                (byUnit.TryGetValue(unit, out var list) ? list : byUnit[unit] = []).Add(placeholder);
            }
        }
        var units = prefixes.Append(RootUnit).Where(byUnit.ContainsKey)
            .Select(u => new ShardedUnit(u, byUnit[u], collectives, precision)).ToList();
        return new FullyShardedModule(module, collectives, precision, units);
    }

    /// <summary>Each element of each <c>ModuleList</c> directly under <paramref name="module"/> (<c>transformer_blocks.0</c>, …).</summary>
    public static IReadOnlyList<string> DefaultUnits(nn.Module module) =>
        module.named_children()
            .Where(c => c.module.GetType().IsGenericType && c.module.GetType().GetGenericTypeDefinition() == typeof(ModuleList<>))
            .SelectMany(c => c.module.named_children().Select(b => $"{c.name}.{b.name}"))
            .ToList();

    private static int Order(nn.Module module, string name) =>
        module.named_parameters().Select((p, i) => (p.name, i)).First(p => p.name == name).i;

    /// <summary>
    /// Puts every unit's full parameters in place for the next forward (recorded by autograd when gradients are enabled
    /// and a parameter trains). A no-op when they already are, in the same mode.
    /// </summary>
    public void Gather()
    {
        ThrowIfUnsharded();
        var withGrad = is_grad_enabled();
        foreach (var unit in Units) unit.Gather(withGrad && unit.Parameters.Any(p => p.RequiresGrad));
    }

    /// <summary>Drops the full parameters: call after backward (gradients are then in the shards) and after no-grad forwards.</summary>
    public void Release()
    {
        foreach (var unit in Units) unit.Release();
    }

    /// <summary>The full tensor of <paramref name="name"/> assembled from every rank's <paramref name="shardShaped"/> (a collective).</summary>
    public Tensor GatherFull(string name, Tensor shardShaped)
    {
        var parameter = Parameters.FirstOrDefault(p => p.Name == name)
            ?? throw new ArgumentException($"'{name}' is not a sharded parameter.", nameof(name));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var world = Collectives.WorldSize;
        var send = shardShaped.contiguous().reshape(-1);
        var all = empty(world * send.numel(), send.dtype, send.device);
        Collectives.AllGather(send, all);
        var shards = Enumerable.Range(0, world).Select(r => all.narrow(0, r * send.numel(), send.numel())).ToList();
        return parameter.Assemble(shards).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gathers every parameter for good (a collective): the module holds full parameters again in their own dtype, as
    /// before sharding — for evaluation, export, or a one-process continuation. The shards and anything built over them
    /// (the optimizer) are no longer used.
    /// </summary>
    public void Unshard()
    {
        if (IsUnsharded) return;
        Release();
        using var noGrad = no_grad();
        foreach (var p in Parameters)
        {
            var full = new Parameter(GatherFull(p.Name, p.Shard), p.RequiresGrad);
            p.Slot.Hold(full);
            p.Slot.Show(full);
        }
        IsUnsharded = true;
    }

    /// <summary>Bytes of this rank's shards (the parameter memory FSDP holds per rank).</summary>
    public long ShardBytes => Parameters.Sum(p => p.ShardElements * p.Shard.ElementSize);

    /// <summary>Wraps the module's denoiser so each call gathers first (and, without gradients, releases after).</summary>
    public Algebra.Adapters.IDenoiser Wrap(Algebra.Adapters.IDenoiser inner) => new ShardedDenoiser(this, inner);

    private void ThrowIfUnsharded()
    {
        if (IsUnsharded) throw new InvalidOperationException("The module was unsharded; it computes with its full parameters now.");
    }

    /// <inheritdoc />
    public void Dispose() => Release();
}
