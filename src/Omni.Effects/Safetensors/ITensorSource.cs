using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>Named tensors that can be listed and read one at a time: a safetensors file or a sharded checkpoint.</summary>
public interface ITensorSource : IDisposable
{
    /// <summary>Every tensor's header entry, by name.</summary>
    IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>Reads one tensor into a new CPU tensor, cast to <paramref name="dtype"/> when given.</summary>
    Tensor Read(string name, ScalarType? dtype = null);
}
