using Microsoft.Extensions.Configuration;
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
    public static IConfiguration Build(string? jsonPath, IEnumerable<KeyValuePair<string, string?>> flags)
    {
        var builder = new ConfigurationBuilder();
        if (jsonPath is not null)
        {
            var full = Path.GetFullPath(jsonPath);
            if (!File.Exists(full)) throw new FileNotFoundException($"The config file '{jsonPath}' does not exist.");
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
    /// Training options from the <c>training</c> section over <paramref name="defaults"/>, then the reference's keys for the same
    /// settings (<see cref="TrainingConfigBinding"/>); unknown keys are errors.
    /// </summary>
    /// <exception cref="InvalidOperationException">A value does not convert, or a key is unknown (the message names it).</exception>
    /// <exception cref="Omni.Algebra.Errors.OmniException">A reference key is unknown, malformed or contradicts its <c>training</c> twin.</exception>
    public static TrainingOptions Training(IConfiguration configuration, TrainingOptions defaults)
    {
        var section = configuration.GetSection(TrainingSection);
        var bound = defaults with { };
        section.Bind(bound, o => o.ErrorOnUnknownConfiguration = true);
        return TrainingConfigBinding.Apply(configuration, bound).Match(o => o, e => throw new Omni.Algebra.Errors.OmniException([.. e]));
    }

    /// <summary>The distillation teacher's folder (<c>distillation:teacher_models:teacher_model:model_path</c>), if configured.</summary>
    /// <exception cref="ArgumentException"><c>distillation:enabled</c> is true without a teacher path, or an unsupported teacher entry.</exception>
    public static string? Teacher(IConfiguration configuration)
    {
        var section = configuration.GetSection("distillation");
        var path = section["teacher_models:teacher_model:model_path"];
        var others = section.GetSection("teacher_models").GetChildren().Select(c => c.Key).Where(k => k != "teacher_model").ToList();
        if (others.Count > 0)
            throw new ArgumentException($"Diffusion distillation supports a single teacher under distillation:teacher_models:teacher_model, got [{string.Join(", ", others)}].");
        if (section["enabled"] is { } enabled && bool.TryParse(enabled, out var on) && on && string.IsNullOrWhiteSpace(path))
            throw new ArgumentException("distillation:enabled is true but no teacher is set: distillation:teacher_models:teacher_model:model_path=<folder>.");
        if (section["enabled"] is { } off && bool.TryParse(off, out var isOn) && !isOn) return null;
        return string.IsNullOrWhiteSpace(path) ? null : path;
    }
}
