using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Sde;

/// <summary>The reverse-time samplers of VeRL-Omni's <c>FlowMatchSDEDiscreteScheduler</c> (<c>sde_type</c>).</summary>
public enum SdeType
{
    /// <summary><c>"sde"</c>: the Flow-GRPO SDE, std <c>√(σ/(1−σ))·η</c>, noise scaled by <c>√−dt</c>.</summary>
    Sde,
    /// <summary><c>"cps"</c>: coefficient-preserving sampling, std <c>σ'·sin(ηπ/2)</c>; log-prob without variance or constants.</summary>
    Cps,
    /// <summary><c>"dance_sde"</c>: the DanceGRPO SDE, std <c>η·√(σ−σ')</c>.</summary>
    DanceSde,
}

/// <summary>Conversions between <see cref="SdeType"/> and the reference's names.</summary>
public static class SdeTypes
{
    /// <summary>The reference's name for the type (<c>sde</c>, <c>cps</c>, <c>dance_sde</c>).</summary>
    public static string Name(this SdeType type) => type switch
    {
        SdeType.Sde => "sde",
        SdeType.Cps => "cps",
        SdeType.DanceSde => "dance_sde",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Parses a reference name; an unknown name is an error that lists the valid ones.</summary>
    public static Either<OmniError, SdeType> Parse(string name) => name switch
    {
        "sde" => SdeType.Sde,
        "cps" => SdeType.Cps,
        "dance_sde" => SdeType.DanceSde,
        _ => Left<OmniError, SdeType>(OmniError.Invalid($"Unknown sde_type '{name}'. Expected one of: 'sde', 'cps', 'dance_sde'.")),
    };
}
