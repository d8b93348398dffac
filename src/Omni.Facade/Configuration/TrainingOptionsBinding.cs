using System.Globalization;
using System.Reflection;
using LanguageExt;
using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Training.Options;
using static LanguageExt.Prelude;

namespace Omni.Facade.Configuration;

/// <summary>
/// Binds <see cref="TrainingOptions"/> from a configuration section (JSON, environment variables, command-line flags)
/// over given defaults, and reports every problem at once: keys that name no option, values that do not convert (each
/// naming its key and the text it got), and then every rule of <see cref="TrainingOptionsRules"/> the result breaks.
/// Option names match case-insensitively, as the configuration binder matches them.
/// </summary>
public static class TrainingOptionsBinding
{
    private static readonly IReadOnlyDictionary<string, PropertyInfo> Settable = typeof(TrainingOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is { IsPublic: true })
        .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The names of every option, as they bind.</summary>
    public static IEnumerable<string> Names => Settable.Keys.Order(StringComparer.Ordinal);

    /// <summary>The options <paramref name="section"/> sets over <paramref name="defaults"/>, or every problem found.</summary>
    public static Validation<OmniError, TrainingOptions> Bind(IConfigurationSection section, TrainingOptions defaults)
    {
        var errors = new List<OmniError>();
        object options = defaults with { };
        foreach (var child in section.GetChildren().OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var key = $"{section.Path}:{child.Key}";
            if (!Settable.TryGetValue(child.Key, out var property))
            {
                errors.Add(new OmniError(ErrorKind.NotFound, $"{key} is not a training option. Options: [{string.Join(", ", Names)}]."));
                continue;
            }
            var nested = child.GetChildren().Select(c => $"{key}:{c.Key}").ToList();
            if (child.Value is null || nested.Count > 0)
            {
                errors.Add(OmniError.Invalid($"{key} must be a single value, got a section ({string.Join(", ", nested)})."));
                continue;
            }
            var (converted, value, expected) = Convert(child.Value, property.PropertyType);
            if (converted) property.SetValue(options, value);
            else errors.Add(OmniError.Invalid($"{key} must be {expected}, got '{child.Value}'."));
        }
        var bound = (TrainingOptions)options;
        // Rule messages start with the option they are about; in a configuration they read best under their full key.
        var rules = TrainingOptionsRules.Validate(bound).Match(Succ: _ => [], Fail: e => e.ToList())
            .Select(e => Settable.ContainsKey(e.Message.Split(' ', 2)[0]) ? e with { Message = $"{section.Path}:{e.Message}" } : e).ToList();
        return errors.Count + rules.Count == 0
            ? Success<OmniError, TrainingOptions>(bound)
            : Fail<OmniError, TrainingOptions>(Seq(errors.Concat(rules)));
    }

    // The converted value (null for an unset nullable), or what was expected (for the message).
    private static (bool Converted, object? Value, string Expected) Convert(string text, Type type)
    {
        var trimmed = text.Trim();
        var nullable = Nullable.GetUnderlyingType(type);
        if (nullable is not null || !type.IsValueType)
        {
            if (trimmed is "" or "null" or "~") return (true, null, "");
            if (nullable is null) return (true, text, "");
            type = nullable;
        }
        var invariant = CultureInfo.InvariantCulture;
        static (bool, object?, string) Ok(object value) => (true, value, "");
        static (bool, object?, string) Expect(string what) => (false, null, what);
        return type switch
        {
            _ when type == typeof(int) => int.TryParse(trimmed, NumberStyles.Integer, invariant, out var i) ? Ok(i) : Expect("an integer"),
            _ when type == typeof(long) => long.TryParse(trimmed, NumberStyles.Integer, invariant, out var l) ? Ok(l) : Expect("an integer"),
            _ when type == typeof(double) => double.TryParse(trimmed, NumberStyles.Float, invariant, out var d) ? Ok(d) : Expect("a number"),
            _ when type == typeof(bool) => bool.TryParse(trimmed, out var b) ? Ok(b) : Expect("true or false"),
            _ when type.IsEnum => Enum.GetNames(type).FirstOrDefault(n => string.Equals(n, trimmed, StringComparison.OrdinalIgnoreCase)) is { } name
                ? Ok(Enum.Parse(type, name))
                : Expect($"one of [{string.Join(", ", Enum.GetNames(type))}]"),
            _ => Expect($"a value of type {type.Name}"),
        };
    }
}
