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
        return builder.AddEnvironmentVariables("OMNI_").AddInMemoryCollection(flags).Build();
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
    /// Training options from the <c>training</c> section over <paramref name="defaults"/>, or every problem: unknown keys,
    /// values that do not convert and broken rules, each naming its key.
    /// </summary>
    public static Validation<OmniError, TrainingOptions> Training(IConfiguration configuration, TrainingOptions defaults) =>
        TrainingOptionsBinding.Bind(configuration.GetSection(TrainingSection), defaults);

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

    /// <summary>The problems of a result (none when it succeeded).</summary>
    public static IEnumerable<OmniError> Problems<T>(Validation<OmniError, T> result) => result.Match(Succ: _ => [], Fail: e => e.ToList());
}
