using System.Text.Json;
using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;

namespace Omni.Effects.Diffusers;

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
    public static Either<OmniError, string> ReadArchitecture(string folder)
    {
        if (!Directory.Exists(folder))
            return Left<OmniError, string>(new OmniError(ErrorKind.NotFound, $"The model folder '{folder}' does not exist."));
        var index = Path.Combine(folder, ModelIndex);
        return ReadJson(index).Bind(root =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty("_class_name", out var name)
            && name.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(name.GetString())
                ? Right<OmniError, string>(name.GetString()!)
                : Left<OmniError, string>(OmniError.Invalid(
                    $"'{index}' has no string \"_class_name\"; cannot infer the diffusion architecture. Set actor_rollout_ref:model:architecture explicitly.")));
    }

    /// <summary>The folder's scheduler configuration (defaults for absent keys, unknown keys ignored).</summary>
    public static Validation<OmniError, SchedulerConfig> ReadSchedulerConfig(string folder)
    {
        var file = Path.Combine(folder, SchedulerConfigPath);
        if (!File.Exists(file))
            return Validation<OmniError, SchedulerConfig>.Fail(Seq1(new OmniError(ErrorKind.NotFound, $"The scheduler configuration '{file}' does not exist.")));
        return SchedulerConfigJson.Parse(File.ReadAllText(file))
            .MapFail(e => e with { Message = $"{file}: {e.Message}" });
    }

    private static Either<OmniError, JsonElement> ReadJson(string file)
    {
        if (!File.Exists(file))
            return Left<OmniError, JsonElement>(new OmniError(ErrorKind.NotFound,
                $"'{file}' does not exist: the model folder must be a diffusers pipeline folder with a {ModelIndex}."));
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            return Right<OmniError, JsonElement>(document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            return Left<OmniError, JsonElement>(OmniError.Invalid($"'{file}' is not valid JSON: {e.Message}"));
        }
    }
}
