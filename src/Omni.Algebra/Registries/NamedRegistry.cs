using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Registries;

/// <summary>
/// An immutable name → value map with the reference's lookup behaviour: registering returns a new
/// registry, and a failed lookup is an error that names the key and lists every registered name.
/// </summary>
/// <typeparam name="T">The registered values.</typeparam>
public sealed class NamedRegistry<T>
{
    private readonly Func<string, IEnumerable<string>, string> _missing;

    /// <summary>Creates an empty registry whose lookup failures read as <paramref name="missing"/>(name, registered names).</summary>
    public NamedRegistry(string kind, Func<string, IEnumerable<string>, string> missing)
        : this(kind, missing, ImmutableSortedDictionary<string, T>.Empty.WithComparers(StringComparer.Ordinal)) { }

    private NamedRegistry(string kind, Func<string, IEnumerable<string>, string> missing, ImmutableSortedDictionary<string, T> entries)
        => (Kind, _missing, Entries) = (kind, missing, entries);

    /// <summary>What is registered (for messages: "diffusion loss", "advantage estimator").</summary>
    public string Kind { get; }

    /// <summary>Every entry, sorted by name.</summary>
    public ImmutableSortedDictionary<string, T> Entries { get; }

    /// <summary>The registered names, sorted.</summary>
    public IEnumerable<string> Names => Entries.Keys;

    /// <summary>A registry with <paramref name="value"/> under <paramref name="name"/>, replacing any previous entry.</summary>
    public NamedRegistry<T> With(string name, T value) => new(Kind, _missing, Entries.SetItem(name, value));

    /// <summary>
    /// A registry with <paramref name="value"/> under <paramref name="name"/>; registering an equal value again is
    /// a no-op, a different value under a taken name is an error.
    /// </summary>
    public Either<OmniError, NamedRegistry<T>> Add(string name, T value)
    {
        if (!Entries.TryGetValue(name, out var existing)) return With(name, value);
        return EqualityComparer<T>.Default.Equals(existing, value)
            ? this
            : Left<OmniError, NamedRegistry<T>>(OmniError.Invalid($"The {Kind} '{name}' has already been registered with a different value: {existing} vs {value}."));
    }

    /// <summary>The value under <paramref name="name"/>, or an error listing the registered names.</summary>
    public Either<OmniError, T> Get(string name) =>
        Entries.TryGetValue(name, out var value)
            ? Right<OmniError, T>(value)
            : Left<OmniError, T>(OmniError.Invalid(_missing(name, Entries.Keys)));

    /// <summary>The value under <paramref name="name"/>, if any.</summary>
    public Option<T> Peek(string name) => Entries.TryGetValue(name, out var value) ? Some(value) : None;
}
