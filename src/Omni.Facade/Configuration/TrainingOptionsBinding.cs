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
/// naming its key and the text it got), and then every rule of <see cref="TrainingOptionsRules"/> the result breaks. Given the
/// whole configuration, the reference's names for the objective settings (<see cref="TrainingConfigBinding"/>) apply too.
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
        var (values, errors) = BindValues(section, defaults);
        return Result(values, errors.Concat(Rules(section.Path, values)));
    }

    /// <summary>
    /// The options the section <paramref name="sectionName"/> of <paramref name="configuration"/> sets over
    /// <paramref name="defaults"/>, then the reference's keys for the same settings (<see cref="TrainingConfigBinding"/>),
    /// or every problem found: unknown keys, values that do not convert, contradictions between the two spellings, and the
    /// rules the result breaks.
    /// </summary>
    public static Validation<OmniError, TrainingOptions> Bind(IConfiguration configuration, string sectionName, TrainingOptions defaults)
    {
        var (options, problems) = Read(configuration, sectionName, defaults);
        return Result(options, problems);
    }

    /// <summary>
    /// As <see cref="Bind(IConfiguration, string, TrainingOptions)"/>, but also returns the options as far as they bound (a value
    /// that does not convert keeps its default), so that checks of combinations can run alongside and every problem is
    /// reported at once.
    /// </summary>
    public static (TrainingOptions Options, Seq<OmniError> Problems) Read(IConfiguration configuration, string sectionName, TrainingOptions defaults)
    {
        var section = configuration.GetSection(sectionName);
        var (values, errors) = BindValues(section, defaults);
        var (withReferenceKeys, referenceErrors) = TrainingConfigBinding.Read(configuration, values);
        return (withReferenceKeys, Seq(errors.Concat(referenceErrors).Concat(Rules(section.Path, withReferenceKeys))));
    }

    private static Validation<OmniError, TrainingOptions> Result(TrainingOptions options, IEnumerable<OmniError> problems)
    {
        var all = problems.ToList();
        return all.Count == 0 ? Success<OmniError, TrainingOptions>(options) : Fail<OmniError, TrainingOptions>(Seq(all));
    }

    // The values the section sets (those that convert) and the problems of the others.
    private static (TrainingOptions Options, List<OmniError> Errors) BindValues(IConfigurationSection section, TrainingOptions defaults)
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
            if (converted && value is null && !property.PropertyType.IsValueType && !AcceptsNull(property))
                (converted, expected) = (false, "set (it has no 'unset' value)");
            if (converted) property.SetValue(options, value);
            else errors.Add(OmniError.Invalid($"{key} must be {expected}, got '{child.Value}'."));
        }
        return ((TrainingOptions)options, errors);
    }

    // Rule messages start with the option they are about; in a configuration they read best under their full key.
    private static IEnumerable<OmniError> Rules(string sectionPath, TrainingOptions options) =>
        TrainingOptionsRules.Validate(options).Match(Succ: _ => [], Fail: e => e.ToList())
            .Select(e => Settable.ContainsKey(e.Message.Split(' ', 2)[0]) ? e with { Message = $"{sectionPath}:{e.Message}" } : e);

    // Whether a reference-typed option is declared nullable (string? LossMode), so that an empty value means "unset".
    private static bool AcceptsNull(PropertyInfo property) =>
        new NullabilityInfoContext().Create(property).WriteState != NullabilityState.NotNull;

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
