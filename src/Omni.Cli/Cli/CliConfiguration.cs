using LanguageExt;
using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Facade.Configuration;
using Omni.Training.Options;

namespace Omni.Cli.Cli;

/// <summary>
/// One configuration for every command, layered lowest to highest: the JSON file given by <c>--config</c>, environment
/// variables prefixed <c>OMNI_</c> (sections separated by <c>__</c>, e.g. <c>OMNI_training__Steps=50</c>), then flags.
/// Sections: <c>training</c> binds to <see cref="TrainingOptions"/>; <c>actor_rollout_ref:model</c> is the reference's model
/// config (path, algorithm, pipeline, sde, lora); <c>omni</c> holds command-line-only settings (prompts, rewards, run folder).
/// </summary>
public static class CliConfiguration
{
    /// <summary>The section training options bind from.</summary>
    public const string TrainingSection = "training";

    /// <summary>Builds the layered configuration.</summary>
    /// <exception cref="FileNotFoundException">The <c>--config</c> file does not exist.</exception>
    /// <exception cref="OmniException">The <c>--config</c> file is not valid JSON (the message gives the line and column).</exception>
    public static IConfiguration Build(string? jsonPath, IEnumerable<KeyValuePair<string, string?>> flags)
    {
        var builder = new ConfigurationBuilder();
        if (jsonPath is not null)
        {
            var full = Path.GetFullPath(jsonPath);
            if (!File.Exists(full)) throw new FileNotFoundException($"The config file '{jsonPath}' does not exist.");
            // Parsed here first so that malformed JSON is reported with its line and column.
            Omni.Effects.Diffusers.JsonFiles.Read(full).OrThrow();
            builder.AddJsonFile(full, optional: false);
        }
        // A key given twice (say in a script and again by hand) takes its last value, as command lines usually do.
        var lastWins = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in flags) lastWins[key] = value;
        return builder.AddEnvironmentVariables("OMNI_").AddInMemoryCollection(lastWins).Build();
    }

    /// <summary>Parses <c>--set key=value</c> pairs (keys use ':' between sections).</summary>
    /// <exception cref="ArgumentException">A pair has no '='.</exception>
    public static IEnumerable<KeyValuePair<string, string?>> ParseSettings(IEnumerable<string> pairs) => pairs.Select(pair =>
    {
        var at = pair.IndexOf('=');
        if (at <= 0) throw new ArgumentException($"--set expects key=value (e.g. training:Steps=50), got '{pair}'.");
        return new KeyValuePair<string, string?>(pair[..at].Trim(), pair[(at + 1)..].Trim());
    });

    /// <summary>
    /// Training options from the <c>training</c> section over <paramref name="defaults"/>, then the reference's keys for the
    /// same settings (<c>actor_rollout_ref:actor:diffusion_loss:*</c>, <c>actor_rollout_ref:actor:*</c>, <c>algorithm:*</c>,
    /// <see cref="TrainingConfigBinding"/>), with every problem: unknown keys, values that do not convert, contradictions and
    /// broken rules, each naming its key. The options are those that bound (a bad value keeps its default), so that checks
    /// of combinations can run beside these problems.
    /// </summary>
    public static (TrainingOptions Options, Seq<OmniError> Problems) Training(IConfiguration configuration, TrainingOptions defaults) =>
        TrainingOptionsBinding.Read(configuration, TrainingSection, defaults);

    /// <summary>
    /// The distillation teacher's folder (<c>distillation:teacher_models:teacher_model:model_path</c>), if configured; a
    /// teacher entry other than <c>teacher_model</c>, <c>distillation:enabled=true</c> without a path, or a folder that does
    /// not exist adds a problem.
    /// </summary>
    public static string? Teacher(IConfiguration configuration, ICollection<OmniError> problems)
    {
        var section = configuration.GetSection("distillation");
        var path = section["teacher_models:teacher_model:model_path"];
        var others = section.GetSection("teacher_models").GetChildren().Select(c => c.Key).Where(k => k != "teacher_model").ToList();
        if (others.Count > 0)
            problems.Add(OmniError.Invalid($"Diffusion distillation supports a single teacher under distillation:teacher_models:teacher_model, got [{string.Join(", ", others)}]."));
        bool? enabled = null;
        if (section["enabled"] is { } text)
        {
            if (bool.TryParse(text, out var on)) enabled = on;
            else problems.Add(OmniError.Invalid($"distillation:enabled must be true or false, got '{text}'."));
        }
        if (enabled == true && string.IsNullOrWhiteSpace(path))
            problems.Add(OmniError.Invalid("distillation:enabled is true but no teacher is set: distillation:teacher_models:teacher_model:model_path=<folder>."));
        if (enabled == false || string.IsNullOrWhiteSpace(path)) return null;
        if (!Directory.Exists(path)) problems.Add(new OmniError(ErrorKind.NotFound, $"The teacher folder '{path}' does not exist."));
        return path;
    }

    /// <summary>Throws one <see cref="OmniException"/> listing every problem of <paramref name="checks"/>, or returns.</summary>
    public static void ThrowIfAny(params IEnumerable<OmniError>[] checks)
    {
        var problems = checks.SelectMany(c => c).Distinct().ToList();
        if (problems.Count > 0) throw new OmniException(problems);
    }

    /// <summary>An integer setting in [<paramref name="min"/>, <paramref name="max"/>], <paramref name="fallback"/> when absent; a bad value adds a problem naming the key.</summary>
    public static int Int(IConfiguration configuration, string key, int fallback, int min, int max, ICollection<OmniError> problems)
    {
        if (configuration[key] is not { } text) return fallback;
        if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            return value;
        problems.Add(OmniError.Invalid($"{key} must be an integer in [{min}, {max}], got '{text}'."));
        return fallback;
    }

    /// <summary>A true/false setting, <paramref name="fallback"/> when absent; a bad value adds a problem naming the key.</summary>
    public static bool Bool(IConfiguration configuration, string key, bool fallback, ICollection<OmniError> problems)
    {
        if (configuration[key] is not { } text) return fallback;
        if (bool.TryParse(text.Trim(), out var value)) return value;
        problems.Add(OmniError.Invalid($"{key} must be true or false, got '{text}'."));
        return fallback;
    }

    /// <summary>A positive number, null when absent; a bad value adds a problem naming the key.</summary>
    public static double? PositiveNumber(IConfiguration configuration, string key, ICollection<OmniError> problems)
    {
        if (configuration[key] is not { } text) return null;
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value > 0 && double.IsFinite(value))
            return value;
        problems.Add(OmniError.Invalid($"{key} must be a positive number, got '{text}'."));
        return null;
    }

    /// <summary>The problems of a result (none when it succeeded).</summary>
    public static IEnumerable<OmniError> Problems<T>(Validation<OmniError, T> result) => result.Match(Succ: _ => [], Fail: e => e.ToList());
}
