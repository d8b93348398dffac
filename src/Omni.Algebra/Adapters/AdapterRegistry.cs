using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Adapters;

/// <summary>
/// An immutable map from (architecture, algorithm) to an adapter. Registering returns a new registry (the old one
/// is unchanged; re-registering a key replaces its adapter, as the reference does); <see cref="Get(AdapterKey)"/> fails with an
/// error that names the key, lists every registered key and says how to load an external assembly;
/// <see cref="Peek"/> never fails.
/// </summary>
/// <typeparam name="T">The adapter type.</typeparam>
public sealed class AdapterRegistry<T>
{
    private readonly string _what;

    private AdapterRegistry(string what, ImmutableSortedDictionary<AdapterKey, T> entries) => (_what, Entries) = (what, entries);

    /// <summary>An empty registry of <paramref name="what"/> ("diffusion model", "rollout pipeline").</summary>
    public static AdapterRegistry<T> Empty(string what) => new(what, ImmutableSortedDictionary<AdapterKey, T>.Empty);

    /// <summary>Every entry, sorted by key.</summary>
    public ImmutableSortedDictionary<AdapterKey, T> Entries { get; }

    /// <summary>The registered keys, sorted.</summary>
    public IEnumerable<AdapterKey> Keys => Entries.Keys;

    /// <summary>A registry with <paramref name="adapter"/> under <paramref name="key"/>.</summary>
    public AdapterRegistry<T> Register(AdapterKey key, T adapter) => new(_what, Entries.SetItem(key, adapter));

    /// <summary>A registry with <paramref name="adapter"/> under (<paramref name="architecture"/>, <paramref name="algorithm"/>).</summary>
    public AdapterRegistry<T> Register(string architecture, string algorithm, T adapter) => Register(new AdapterKey(architecture, algorithm), adapter);

    /// <summary>The adapter for <paramref name="key"/>, if registered.</summary>
    public Option<T> Peek(AdapterKey key) => Entries.TryGetValue(key, out var adapter) ? Some(adapter) : None;

    /// <summary>The adapter for <paramref name="key"/>, or an error naming the key and every registered one.</summary>
    public Either<OmniError, T> Get(AdapterKey key) =>
        Entries.TryGetValue(key, out var adapter)
            ? Right<OmniError, T>(adapter)
            : Left<OmniError, T>(new OmniError(ErrorKind.NotSupported,
                $"No {_what} registered for (architecture='{key.Architecture}', algorithm='{key.Algorithm}'). "
                + $"Registered: [{string.Join(", ", Entries.Keys)}]. "
                + "Set `external_assembly` (configuration key actor_rollout_ref:model:external_assembly) to an assembly "
                + "whose IOmniPlugin registers your implementation."));

    /// <summary>By-name lookup, usable before a full configuration exists.</summary>
    public Either<OmniError, T> Get(string architecture, string algorithm) => Get(new AdapterKey(architecture, algorithm));
}
