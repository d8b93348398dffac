using System.Text.Json;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Schedules;

/// <summary>
/// Reads a diffusers <c>scheduler_config.json</c> text into a <see cref="SchedulerConfig"/>: known keys
/// are bound (absent ones keep their defaults), unknown keys such as <c>_class_name</c> are ignored,
/// and every ill-typed or invalid value is reported.
/// </summary>
public static class SchedulerConfigJson
{
    /// <summary>Parses and validates a scheduler configuration from JSON text.</summary>
    public static Validation<OmniError, SchedulerConfig> Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            return Fail<OmniError, SchedulerConfig>(OmniError.Invalid($"The scheduler configuration is not valid JSON: {e.Message}"));
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return Fail<OmniError, SchedulerConfig>(OmniError.Invalid($"The scheduler configuration must be a JSON object, got {document.RootElement.ValueKind}."));
            return Bind(document.RootElement);
        }
    }

    /// <summary>Binds an already parsed JSON object (for example one entry of a larger manifest).</summary>
    public static Validation<OmniError, SchedulerConfig> Bind(JsonElement root)
    {
        var errors = new List<OmniError>();
        var config = SchedulerConfig.Default;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            config = property.Name switch
            {
                "num_train_timesteps" => Int(value, property.Name, errors) is { } n ? config with { NumTrainTimesteps = n } : config,
                "shift" => Number(value, property.Name, errors) is { } s ? config with { Shift = s } : config,
                "use_dynamic_shifting" => Bool(value, property.Name, errors) is { } b ? config with { UseDynamicShifting = b } : config,
                "base_shift" => Number(value, property.Name, errors) is { } s ? config with { BaseShift = s } : config,
                "max_shift" => Number(value, property.Name, errors) is { } s ? config with { MaxShift = s } : config,
                "base_image_seq_len" => Int(value, property.Name, errors) is { } n ? config with { BaseImageSeqLen = n } : config,
                "max_image_seq_len" => Int(value, property.Name, errors) is { } n ? config with { MaxImageSeqLen = n } : config,
                "invert_sigmas" => Bool(value, property.Name, errors) is { } b ? config with { InvertSigmas = b } : config,
                "shift_terminal" => value.ValueKind == JsonValueKind.Null
                    ? config with { ShiftTerminal = null }
                    : Number(value, property.Name, errors) is { } t ? config with { ShiftTerminal = t } : config,
                "use_karras_sigmas" => Bool(value, property.Name, errors) is { } b ? config with { UseKarrasSigmas = b } : config,
                "use_exponential_sigmas" => Bool(value, property.Name, errors) is { } b ? config with { UseExponentialSigmas = b } : config,
                "use_beta_sigmas" => Bool(value, property.Name, errors) is { } b ? config with { UseBetaSigmas = b } : config,
                "time_shift_type" => TimeShift(value, errors) is { } k ? config with { TimeShiftType = k } : config,
                "stochastic_sampling" => Bool(value, property.Name, errors) is { } b ? config with { StochasticSampling = b } : config,
                _ => config,
            };
        }
        var validated = config.Validate();
        if (errors.Count == 0) return validated;
        var all = Seq(errors) + validated.Match(Succ: _ => Seq<OmniError>(), Fail: e => e);
        return Fail<OmniError, SchedulerConfig>(all);
    }

    private static TimeShiftType? TimeShift(JsonElement value, List<OmniError> errors)
    {
        var text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        switch (text)
        {
            case "exponential": return TimeShiftType.Exponential;
            case "linear": return TimeShiftType.Linear;
            default:
                errors.Add(OmniError.Invalid($"`time_shift_type` must either be 'exponential' or 'linear'. (got {value.GetRawText()})"));
                return null;
        }
    }

    private static double? Number(JsonElement value, string key, List<OmniError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number) return value.GetDouble();
        errors.Add(OmniError.Invalid($"`{key}` must be a number, got {value.GetRawText()}."));
        return null;
    }

    private static int? Int(JsonElement value, string key, List<OmniError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n)) return n;
        errors.Add(OmniError.Invalid($"`{key}` must be an integer, got {value.GetRawText()}."));
        return null;
    }

    private static bool? Bool(JsonElement value, string key, List<OmniError> errors)
    {
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
        errors.Add(OmniError.Invalid($"`{key}` must be true or false, got {value.GetRawText()}."));
        return null;
    }
}
