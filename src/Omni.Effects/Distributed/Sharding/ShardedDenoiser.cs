using Omni.Algebra.Adapters;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// A denoiser over an FSDP-sharded module: each call gathers the units first. Without gradients (rollouts, old-policy and
/// reference passes) the full parameters are dropped right after the call; with gradients they stay until the trainer
/// releases them after backward (a classifier-free-guidance pair of calls shares one gather, and a recomputing
/// gradient checkpoint finds them in place).
/// </summary>
internal sealed class ShardedDenoiser(FullyShardedModule shards, IDenoiser inner) : IDenoiserWrapper
{
    /// <inheritdoc />
    public IDenoiser Inner => inner;

    /// <inheritdoc />
    public Tensor Forward(ModelInputs inputs)
    {
        if (shards.IsUnsharded) return inner.Forward(inputs);
        shards.Gather();
        try
        {
            return inner.Forward(inputs);
        }
        finally
        {
            if (!is_grad_enabled()) shards.Release();
        }
    }
}
