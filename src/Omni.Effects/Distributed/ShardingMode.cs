using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Effects.Distributed;

/// <summary>How a multi-rank run splits the model.</summary>
public enum ShardingMode
{
    /// <summary>One process, nothing shared (a multi-rank run with this mode would train separate models: refused).</summary>
    None,
    /// <summary>Data parallel: identical weights on every rank, gradients averaged with bucketed all-reduces.</summary>
    Ddp,
    /// <summary>Fully sharded (ZeRO-3): parameters, gradients and optimizer state split across the ranks.</summary>
    Fsdp,
}

/// <summary>Names and parsing of <see cref="ShardingMode"/>.</summary>
public static class ShardingModes
{
    /// <summary>The accepted spellings, for messages.</summary>
    public const string Spellings = "none, ddp or fsdp";

    /// <summary>The command-line spelling.</summary>
    public static string Name(this ShardingMode mode) => mode.ToString().ToLowerInvariant();

    /// <summary>Parses <c>none</c>, <c>ddp</c> or <c>fsdp</c> (case-insensitive); null or empty is <paramref name="fallback"/>.</summary>
    public static Either<OmniError, ShardingMode> Parse(string? text, ShardingMode fallback) =>
        string.IsNullOrWhiteSpace(text) ? fallback
        : Enum.TryParse<ShardingMode>(text.Trim(), ignoreCase: true, out var mode) && Enum.IsDefined(mode) && !int.TryParse(text, out _)
            ? Right<OmniError, ShardingMode>(mode)
            : Left<OmniError, ShardingMode>(OmniError.Invalid($"Unknown sharding '{text}'. Use {Spellings}."));
}
