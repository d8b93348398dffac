using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>The safetensors dtype names and their torch types.</summary>
public static class DTypes
{
    /// <summary>The torch type and element size for a safetensors dtype name, or null when unknown.</summary>
    public static (ScalarType Type, int Size)? Parse(string name) => name switch
    {
        "F64" => (ScalarType.Float64, 8),
        "F32" => (ScalarType.Float32, 4),
        "F16" => (ScalarType.Float16, 2),
        "BF16" => (ScalarType.BFloat16, 2),
        "I64" => (ScalarType.Int64, 8),
        "I32" => (ScalarType.Int32, 4),
        "I16" => (ScalarType.Int16, 2),
        "I8" => (ScalarType.Int8, 1),
        "U8" => (ScalarType.Byte, 1),
        "BOOL" => (ScalarType.Bool, 1),
        _ => null,
    };

    /// <summary>The safetensors name of a torch type, or null when safetensors cannot store it.</summary>
    public static string? Name(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => null,
    };
}
