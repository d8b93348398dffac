using System.Collections.Immutable;
using System.Globalization;
using LanguageExt;
using Microsoft.Extensions.Configuration;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Effects.Diffusers;
using static LanguageExt.Prelude;

namespace Omni.Facade.Configuration;

/// <summary>
/// Binds a <see cref="DiffusionModelConfig"/> from any <see cref="IConfiguration"/> (JSON files, environment
/// variables, command-line arguments) under the reference's keys, <c>actor_rollout_ref:model:…</c>, reads the
/// architecture from the model folder's <c>model_index.json</c> when it is not given, and validates everything at
/// once: the result lists every problem, each naming its key.
/// </summary>
public static class ModelConfigBinding
{
    /// <summary>The configuration section of the model settings.</summary>
    public const string Section = "actor_rollout_ref:model";

    /// <summary>Binds and validates the model configuration; absent keys take <paramref name="defaults"/>' values (the reference's defaults when null).</summary>
    public static Validation<OmniError, DiffusionModelConfig> Bind(IConfiguration configuration, DiffusionModelConfig? defaults = null)
    {
        var section = configuration.GetSection(Section);
        var reader = new Reader(section);
        var path = section["path"] ?? defaults?.Path;
        var architecture = section["architecture"];
        var errors = new List<OmniError>();
        // A folder that cannot be read leaves the architecture unknown: that is one problem, reported here, not a second one
        // from the rules below.
        var folderReadable = true;
        if (!string.IsNullOrWhiteSpace(path) && string.IsNullOrWhiteSpace(architecture))
            ModelFolder.ReadArchitecture(path).Match(Right: a => architecture = a, Left: e => { errors.Add(e); folderReadable = false; });
        else if (!string.IsNullOrWhiteSpace(path) && !Directory.Exists(path))
        {
            errors.Add(new OmniError(ErrorKind.NotFound, $"The model folder '{path}' does not exist."));
            folderReadable = false;
        }

        var d = defaults ?? new DiffusionModelConfig { Path = "", Architecture = "" };
        var config = d with
        {
            Path = path ?? "",
            Architecture = architecture ?? d.Architecture,
            Algorithm = section["algorithm"] ?? d.Algorithm,
            ExternalAssembly = section["external_assembly"] ?? section["external_lib"] ?? d.ExternalAssembly,
            DType = section["dtype"] ?? d.DType,
            VaeScaleFactor = reader.Int("vae_scale_factor") ?? d.VaeScaleFactor,
            Pipeline = new PipelineSettings
            {
                Height = reader.Int("pipeline:height") ?? d.Pipeline.Height,
                Width = reader.Int("pipeline:width") ?? d.Pipeline.Width,
                NumInferenceSteps = reader.Int("pipeline:num_inference_steps") ?? d.Pipeline.NumInferenceSteps,
                GuidanceScale = reader.Has("pipeline:guidance_scale") ? reader.Double("pipeline:guidance_scale") : d.Pipeline.GuidanceScale,
                TrueCfgScale = reader.Double("pipeline:true_cfg_scale") ?? d.Pipeline.TrueCfgScale,
                MaxSequenceLength = reader.Int("pipeline:max_sequence_length") ?? d.Pipeline.MaxSequenceLength,
                NumFrames = reader.Int("pipeline:num_frames") ?? d.Pipeline.NumFrames,
            },
            Sde = new SdeSettings
            {
                NoiseLevel = reader.Double("algo:noise_level") ?? d.Sde.NoiseLevel,
                SdeType = reader.SdeType("algo:sde_type") ?? d.Sde.SdeType,
                WindowSize = reader.Has("algo:sde_window_size") ? reader.Int("algo:sde_window_size") : d.Sde.WindowSize,
                WindowRange = reader.Has("algo:sde_window_range") ? reader.Range("algo:sde_window_range") : d.Sde.WindowRange,
            },
            Lora = new LoraSettings
            {
                Rank = reader.Int("lora_rank") ?? d.Lora.Rank,
                Alpha = reader.Double("lora_alpha") ?? d.Lora.Alpha,
                InitWeights = section["lora_init_weights"] ?? d.Lora.InitWeights,
                TargetModules = reader.List("target_modules") ?? d.Lora.TargetModules,
            },
        };
        errors.AddRange(reader.Errors);
        var checkedConfig = folderReadable ? config : config with { Architecture = "(unread)" };
        errors.AddRange(ConfigRules.Validate(checkedConfig).Match(Succ: _ => [], Fail: e => e.ToList()));
        return errors.Count == 0 ? Success<OmniError, DiffusionModelConfig>(config) : Fail<OmniError, DiffusionModelConfig>(Seq(errors));
    }

    private sealed class Reader(IConfigurationSection section)
    {
        public List<OmniError> Errors { get; } = [];

        public bool Has(string key) => section[key] is not null || section.GetSection(key).GetChildren().Any();

        public int? Int(string key) => Parse(key, "an integer", s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : (int?)null);

        public double? Double(string key) => section[key] is "null" or "~" ? null
            : Parse(key, "a number", s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (double?)null);

        public SdeType? SdeType(string key)
        {
            if (section[key] is not { } text) return null;
            var parsed = SdeTypes.Parse(text);
            parsed.IfLeft(e => Errors.Add(e with { Message = $"{Name(key)}: {e.Message}" }));
            return parsed.IsRight ? parsed.IfLeft(default(SdeType)) : null;
        }

        public (int, int)? Range(string key)
        {
            var values = List(key);
            if (values is null) return null;
            var numbers = values.Value.Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? (int?)n : null).ToList();
            if (numbers.Count == 2 && numbers.All(n => n is not null)) return (numbers[0]!.Value, numbers[1]!.Value);
            Errors.Add(OmniError.Invalid($"{Name(key)} must be two integers [start, end], got [{string.Join(", ", values.Value)}]."));
            return null;
        }

        // A list is either child keys (JSON arrays, key:0, key:1) or one comma-separated value.
        public ImmutableArray<string>? List(string key)
        {
            var child = section.GetSection(key);
            var items = child.GetChildren().Select(c => c.Value).Where(v => v is not null).Cast<string>().ToList();
            if (items.Count > 0) return [.. items];
            return child.Value is { } text
                ? [.. text.Trim('[', ']', '(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
                : null;
        }

        // Messages use the rules' spelling (model.pipeline.height) for every key.
        private static string Name(string key) => "model." + key.Replace(':', '.');

        private T? Parse<T>(string key, string what, Func<string, T?> parse) where T : struct
        {
            if (section[key] is not { } text) return null;
            var value = parse(text);
            if (value is null) Errors.Add(OmniError.Invalid($"{Name(key)} must be {what}, got '{text}'."));
            return value;
        }
    }
}
