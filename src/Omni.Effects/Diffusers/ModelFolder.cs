using System.Collections.Immutable;
using System.Text.Json;
using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;

namespace Omni.Effects.Diffusers;

/// <summary>A pipeline folder's <c>model_index.json</c>.</summary>
/// <param name="Architecture">The pipeline class (<c>_class_name</c>).</param>
/// <param name="Components">Component name → (library, class), or null for a component the folder does not ship.</param>
/// <param name="Settings">The other entries (e.g. Wan's <c>boundary_ratio</c>, <c>expand_timesteps</c>).</param>
public sealed record ModelIndexFile(
    string Architecture,
    ImmutableDictionary<string, (string Library, string Class)?> Components,
    ImmutableDictionary<string, JsonElement> Settings)
{
    /// <summary>Whether the folder ships <paramref name="component"/> (listed and not null).</summary>
    public bool Has(string component) => Components.TryGetValue(component, out var c) && c is not null;
}

/// <summary>
/// Reads what a diffusers pipeline folder says about itself: the architecture (<c>model_index.json</c>'s
/// <c>_class_name</c>) and the scheduler configuration (<c>scheduler/scheduler_config.json</c>). Every failure is
/// an error value naming the file and the problem.
/// </summary>
public static class ModelFolder
{
    /// <summary>The pipeline index file name.</summary>
    public const string ModelIndex = "model_index.json";

    /// <summary>The scheduler configuration path inside the folder.</summary>
    public static readonly string SchedulerConfigPath = Path.Combine("scheduler", "scheduler_config.json");

    /// <summary>The pipeline's class name, e.g. <c>StableDiffusion3Pipeline</c>.</summary>
    public static Either<OmniError, string> ReadArchitecture(string folder) => ReadIndex(folder).Map(index => index.Architecture);

    /// <summary>
    /// The whole <c>model_index.json</c>: the pipeline class, its components (<c>"vae": ["diffusers", "AutoencoderKL"]</c>;
    /// a <c>[null, null]</c> entry is a component the folder does not ship) and its other settings.
    /// </summary>
    public static Either<OmniError, ModelIndexFile> ReadIndex(string folder)
    {
        if (!Directory.Exists(folder))
            return Left<OmniError, ModelIndexFile>(new OmniError(ErrorKind.NotFound, $"The model folder '{folder}' does not exist."));
        var index = Path.Combine(folder, ModelIndex);
        return ReadJson(index).Bind(root =>
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("_class_name", out var name)
                || name.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(name.GetString()))
                return Left<OmniError, ModelIndexFile>(OmniError.Invalid(
                    $"'{index}' has no string \"_class_name\"; cannot infer the diffusion architecture. Set actor_rollout_ref:model:architecture explicitly."));
            var components = new Dictionary<string, (string Library, string Class)?>();
            var settings = new Dictionary<string, JsonElement>();
            foreach (var property in root.EnumerateObject().Where(p => !p.Name.StartsWith('_')))
            {
                var value = property.Value;
                if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2
                    && value.EnumerateArray().All(e => e.ValueKind is JsonValueKind.String or JsonValueKind.Null))
                {
                    var pair = value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : null).ToArray();
                    components[property.Name] = pair[0] is null || pair[1] is null ? null : (pair[0]!, pair[1]!);
                }
                else
                {
                    settings[property.Name] = value.Clone();
                }
            }
            return Right<OmniError, ModelIndexFile>(new ModelIndexFile(name.GetString()!, components.ToImmutableDictionary(), settings.ToImmutableDictionary()));
        });
    }

    /// <summary>The folder's scheduler configuration (defaults for absent keys, unknown keys ignored).</summary>
    public static Validation<OmniError, SchedulerConfig> ReadSchedulerConfig(string folder)
    {
        var file = Path.Combine(folder, SchedulerConfigPath);
        if (!File.Exists(file))
            return Validation<OmniError, SchedulerConfig>.Fail(Seq1(new OmniError(ErrorKind.NotFound, $"The scheduler configuration '{file}' does not exist.")));
        return JsonFiles.Read(file).ToValidation()
            .Bind(json => json.ValueKind == JsonValueKind.Object
                ? SchedulerConfigJson.Bind(json).MapFail(e => e with { Message = $"{file}: {e.Message}" })
                : Fail<OmniError, SchedulerConfig>(OmniError.Invalid($"'{file}' must hold a JSON object, got {json.ValueKind}.")));
    }

    private static Either<OmniError, JsonElement> ReadJson(string file) =>
        File.Exists(file)
            ? JsonFiles.Read(file)
            : Left<OmniError, JsonElement>(new OmniError(ErrorKind.NotFound,
                $"'{file}' does not exist: the model folder must be a diffusers pipeline folder with a {ModelIndex}."));
}
