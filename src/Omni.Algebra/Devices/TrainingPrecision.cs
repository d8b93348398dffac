using System.ComponentModel;
using System.Globalization;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Devices;

/// <summary>
/// How a training run does its arithmetic. Whatever the mode, the scheduler maths, log-probabilities, losses and
/// advantages are float32 and trajectories are stored in float32.
/// </summary>
[TypeConverter(typeof(TrainingPrecisionConverter))]
public enum TrainingPrecision
{
    /// <summary><c>float32</c>: the transformer computes in float32 (the default).</summary>
    Float32,

    /// <summary>
    /// <c>bf16-mixed</c>: float32 master weights and optimizer state; the transformer computes with a bfloat16 copy of
    /// its weights, refreshed after every optimizer update; gradients are accumulated into the float32 masters.
    /// </summary>
    Bf16Mixed,
}

/// <summary>Names and parsing of <see cref="TrainingPrecision"/>.</summary>
public static class TrainingPrecisions
{
    /// <summary>The accepted spellings, for messages.</summary>
    public const string Spellings = "float32 or bf16-mixed";

    /// <summary>The command-line spelling: <c>float32</c> or <c>bf16-mixed</c>.</summary>
    public static string Name(this TrainingPrecision precision) => precision switch
    {
        TrainingPrecision.Bf16Mixed => "bf16-mixed",
        _ => "float32",
    };

    /// <summary>Parses <c>float32</c>/<c>fp32</c> or <c>bf16-mixed</c>/<c>bf16_mixed</c>/<c>Bf16Mixed</c> (case-insensitive).</summary>
    public static Either<OmniError, TrainingPrecision> Parse(string? text) =>
        (text ?? "").Trim().ToLowerInvariant().Replace("_", "-") switch
        {
            "float32" or "fp32" => TrainingPrecision.Float32,
            "bf16-mixed" or "bf16mixed" => TrainingPrecision.Bf16Mixed,
            _ => Left<OmniError, TrainingPrecision>(OmniError.Invalid($"Unknown precision '{text}'. Use {Spellings}.")),
        };
}

/// <summary>Lets configuration binding accept <c>bf16-mixed</c> as well as the enum's own names.</summary>
public sealed class TrainingPrecisionConverter : EnumConverter
{
    /// <summary>Creates the converter.</summary>
    public TrainingPrecisionConverter() : base(typeof(TrainingPrecision)) { }

    /// <inheritdoc />
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text
            ? TrainingPrecisions.Parse(text).Match(p => (object)p, e => throw new FormatException(e.Message))
            : base.ConvertFrom(context, culture, value);
}
