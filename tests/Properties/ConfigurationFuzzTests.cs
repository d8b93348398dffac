using System.Globalization;
using CsCheck;
using Microsoft.Extensions.Configuration;
using Omni.Facade.Configuration;
using Omni.Training.Options;

namespace Omni.Tests.Properties;

/// <summary>
/// Arbitrary configurations — known and unknown keys, in any letter case, with well-formed, malformed, empty, huge and
/// non-ASCII values; 4,000 cases in all — bind to options or to a list of problems: never an exception, and every
/// problem names the key it is about, so a user with several mistakes sees all of them at once.
/// </summary>
public sealed class ConfigurationFuzzTests : IDisposable
{
    private const int CasesPerProperty = 2000;
    private readonly string _folder = Directory.CreateTempSubdirectory("omni-config-fuzz-").FullName;

    public ConfigurationFuzzTests()
    {
        File.WriteAllText(Path.Combine(_folder, "model_index.json"), "{\"_class_name\": \"FuzzPipeline\"}");
    }

    public void Dispose() => Directory.Delete(_folder, true);

    private static readonly string[] ModelKeys =
    [
        "algorithm", "dtype", "vae_scale_factor", "pipeline:height", "pipeline:width", "pipeline:num_inference_steps",
        "pipeline:guidance_scale", "pipeline:true_cfg_scale", "pipeline:max_sequence_length", "pipeline:num_frames",
        "algo:noise_level", "algo:sde_type", "algo:sde_window_size", "algo:sde_window_range", "algo:sde_window_range:0",
        "algo:sde_window_range:1", "lora_rank", "lora_alpha", "target_modules",
    ];

    private static readonly Gen<string> Values = Gen.OneOf(
        Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[-3, 64].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Double.Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Gen.Double[0, 2].Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Pick("true", "false", "True", "null", "~", "", " ", "NaN", "Infinity", "-0", "1e400", "99999999999999999999",
                       "sde", "cps", "dance_sde", "Random", "progressive", "Cosine", "flow_grpo", "[1, 4]", "1,4", "abc", "½", "∞", "0x10"),
        Gen.String);

    private static Gen<string> Pick(params string[] choices) => Gen.Int[0, choices.Length - 1].Select(i => choices[i]);

    private static Gen<(string Key, string Value)[]> Settings(Gen<string> keys) =>
        Gen.Select(keys, Values).Array[0, 6];

    private static Gen<string> Cased(Gen<string> keys) =>
        Gen.Select(keys, Gen.Int[0, 2], (key, casing) => casing switch { 0 => key, 1 => key.ToLowerInvariant(), _ => key.ToUpperInvariant() });

    private static readonly Gen<string> TrainingKeys = Gen.Frequency(
        (8, Cased(Pick([.. TrainingOptionsBinding.Names]))),
        (1, Pick("Stepz", "Steps:inner", "", "training", "Seed:0")),
        (1, Gen.String.Where(s => !s.Contains(':'))));

    // Keys match case-insensitively and a key given twice keeps its last value, as with any configuration source.
    private static IConfiguration Build(string prefix, IEnumerable<(string Key, string Value)> settings)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in settings) data[$"{prefix}{key}"] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(data).Build();
    }

    [Fact]
    public void Training_options_bind_or_name_every_bad_key()
    {
        Settings(TrainingKeys).Sample(settings =>
        {
            var section = Build("training:", settings).GetSection("training");
            var problems = TrainingOptionsBinding.Bind(section, new TrainingOptions()).Match(Succ: _ => [], Fail: e => e.Select(x => x.Message).ToList());
            var last = settings.GroupBy(s => s.Key, StringComparer.OrdinalIgnoreCase).Select(g => g.Last()).Where(s => s.Key.Length > 0 && !s.Key.StartsWith(':'));
            foreach (var (key, value) in last)
            {
                var option = TrainingOptionsBinding.Names.FirstOrDefault(n => string.Equals(n, key.Split(':')[0], StringComparison.OrdinalIgnoreCase));
                if (option is null || key.Contains(':'))
                    Assert.Contains(problems, p => p.Contains(key.Split(':')[0], StringComparison.OrdinalIgnoreCase));
                else if (!Converts(typeof(TrainingOptions).GetProperty(option)!.PropertyType, value))
                    Assert.Contains(problems, p => p.StartsWith($"training:{key} must be", StringComparison.OrdinalIgnoreCase));
            }
            Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p)));
        }, iter: CasesPerProperty, threads: 1, print: s => string.Join("; ", s.Select(p => $"{p.Key}={p.Value}")));
    }

    [Fact]
    public void Model_configurations_bind_or_name_every_bad_key()
    {
        var keys = Gen.Frequency((8, Pick(ModelKeys)), (1, Gen.String.Where(s => !s.Contains(':') && s.Length > 0)));
        Settings(keys).Sample(settings =>
        {
            var configuration = Build("actor_rollout_ref:model:", settings.Prepend(("path", _folder)));
            var problems = ModelConfigBinding.Bind(configuration).Match(Succ: _ => [], Fail: e => e.Select(x => x.Message).ToList());
            // Every problem is about a named setting of the model section.
            Assert.All(problems, p => Assert.Contains("model.", p));
            var last = settings.GroupBy(s => s.Key, StringComparer.OrdinalIgnoreCase).Select(g => g.Last());
            foreach (var (key, value) in last.Where(s => s.Key is "pipeline:height" or "lora_rank" or "algo:noise_level"))
                // The model section reads "null" and "~" in a number as "not set" (YAML habits), like an absent key.
                if (!Converts(key == "algo:noise_level" ? typeof(double?) : typeof(int), value))
                    Assert.Contains(problems, p => p.Contains("model." + key.Replace(':', '.')));
        }, iter: CasesPerProperty, threads: 1, print: s => string.Join("; ", s.Select(p => $"{p.Key}={p.Value}")));
    }

    // Whether the binder's documented conversion accepts the text (independently restated: invariant culture, trimmed).
    private static bool Converts(Type type, string text)
    {
        var t = text.Trim();
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null || !type.IsValueType)
        {
            if (t is "" or "null" or "~" || underlying is null) return true;
            type = underlying;
        }
        return type == typeof(int) ? int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            : type == typeof(long) ? long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            : type == typeof(double) ? double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            : type == typeof(bool) ? bool.TryParse(t, out _)
            : !type.IsEnum || Enum.GetNames(type).Any(n => string.Equals(n, t, StringComparison.OrdinalIgnoreCase));
    }
}
