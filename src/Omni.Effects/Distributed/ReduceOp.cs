namespace Omni.Effects.Distributed;

/// <summary>How a reducing collective combines the ranks' values elementwise.</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum,
    /// <summary>The sum over ranks divided by the world size (floating-point tensors only).</summary>
    Average,
    /// <summary>The largest value over ranks.</summary>
    Max,
    /// <summary>The smallest value over ranks.</summary>
    Min,
}
