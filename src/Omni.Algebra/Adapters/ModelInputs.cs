using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// Keyword arguments for an <see cref="IDenoiser"/>: an immutable map whose keys are the model's argument names
/// verbatim. Values are tensors or plain data (<c>img_shapes</c>, flags).
/// </summary>
/// <param name="Values">The arguments by name.</param>
public sealed record ModelInputs(ImmutableDictionary<string, object?> Values)
{
    /// <summary>No arguments.</summary>
    public static ModelInputs Empty { get; } = new(ImmutableDictionary<string, object?>.Empty);

    /// <summary>The arguments plus (or with a new value for) <paramref name="key"/>.</summary>
    public ModelInputs With(string key, object? value) => new(Values.SetItem(key, value));

    /// <summary>The arguments without <paramref name="key"/>.</summary>
    public ModelInputs Without(string key) => new(Values.Remove(key));

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => Values.ContainsKey(key);

    /// <summary>The tensor argument <paramref name="key"/>; throws with the available names when absent.</summary>
    public Tensor Tensor(string key) =>
        Values.TryGetValue(key, out var value) && value is Tensor t
            ? t
            : throw new KeyNotFoundException($"Model input '{key}' is not a tensor argument. Arguments: [{string.Join(", ", Values.Keys.Order())}].");

    /// <summary>The argument <paramref name="key"/> as <typeparamref name="T"/>, or the default when absent.</summary>
    public T? Get<T>(string key) => Values.TryGetValue(key, out var value) && value is T t ? t : default;
}
