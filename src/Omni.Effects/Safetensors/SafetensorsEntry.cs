using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>One tensor's header entry in a safetensors file.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The shape (empty for a scalar).</param>
/// <param name="Begin">Byte offset of the data, relative to the start of the data section.</param>
/// <param name="End">Byte offset one past the data, relative to the start of the data section.</param>
public sealed record SafetensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End)
{
    /// <summary>The number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
