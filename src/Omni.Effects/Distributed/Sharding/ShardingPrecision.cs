using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// FSDP's mixed-precision policy: the dtype full parameters are gathered in for compute (null: the parameters' own dtype,
/// e.g. float32) and the dtype gradients are reduced in (float32 by default, so bfloat16 compute loses nothing in the sum).
/// Shards, their gradients and the optimizer state keep the parameters' own dtype (float32 master weights).
/// </summary>
/// <param name="ParamDtype">Gather dtype, or null for the parameters' own.</param>
/// <param name="ReduceDtype">Gradient reduction dtype.</param>
public sealed record ShardingPrecision(ScalarType? ParamDtype = null, ScalarType ReduceDtype = ScalarType.Float32)
{
    /// <summary>Gather and reduce in the parameters' own dtype (float32 training).</summary>
    public static ShardingPrecision Full { get; } = new();

    /// <summary>Gather in bfloat16 for compute, reduce gradients in float32 (bf16-mixed training).</summary>
    public static ShardingPrecision Bf16Compute { get; } = new(ScalarType.BFloat16);
}
