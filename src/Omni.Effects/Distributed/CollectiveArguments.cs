using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed;

/// <summary>The argument rules every backend shares: contiguous tensors of a supported dtype on the backend's device, matching sizes.</summary>
internal static class CollectiveArguments
{
    private static readonly HashSet<ScalarType> Supported =
        [ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16, ScalarType.Float64, ScalarType.Int32, ScalarType.Int64, ScalarType.Byte];

    public static void Check(int rank, DeviceType device, string operation, Tensor tensor, string name = "tensor")
    {
        if (tensor.IsInvalid) throw new ArgumentException($"rank {rank}: {operation}: the {name} was disposed.", name);
        if (tensor.device_type != device)
            throw new ArgumentException($"rank {rank}: {operation}: the {name} is on {tensor.device}; this backend works on {device} tensors.", name);
        if (!tensor.is_contiguous())
            throw new ArgumentException($"rank {rank}: {operation}: the {name} must be contiguous (call .contiguous() and copy back).", name);
        if (!Supported.Contains(tensor.dtype))
            throw new ArgumentException($"rank {rank}: {operation}: dtype {tensor.dtype} is not supported (float32, bfloat16, float16, float64, int32, int64, uint8).", name);
        if (tensor.numel() > int.MaxValue)
            throw new ArgumentException($"rank {rank}: {operation}: {tensor.numel()} elements exceed one call's limit of {int.MaxValue}; split the tensor.", name);
    }

    public static void CheckPair(int rank, int world, DeviceType device, string operation, Tensor small, Tensor large)
    {
        Check(rank, device, operation, small, "input");
        Check(rank, device, operation, large, "output");
        if (small.dtype != large.dtype)
            throw new ArgumentException($"rank {rank}: {operation}: input and output dtypes differ ({small.dtype} vs {large.dtype}).");
        if (large.numel() != small.numel() * world)
            throw new ArgumentException($"rank {rank}: {operation}: the larger tensor has {large.numel()} elements; it needs world size {world} × {small.numel()}.");
    }

    public static void CheckReduction(int rank, string operation, Tensor tensor, ReduceOp op)
    {
        if (op == ReduceOp.Average && !torch.is_floating_point(tensor))
            throw new ArgumentException($"rank {rank}: {operation}: Average needs a floating-point tensor, not {tensor.dtype}.");
    }

    public static long Bytes(Tensor t) => t.numel() * t.ElementSize;
}
