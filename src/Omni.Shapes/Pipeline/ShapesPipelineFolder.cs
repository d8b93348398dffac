using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Effects.Diffusers;
using Omni.Effects.Safetensors;
using Omni.Models.Loading;
using Omni.Models.Sd3;
using Omni.Shapes.Model;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// Saves and loads a <see cref="ShapesPipeline"/> as a diffusers-layout folder:
/// <c>model_index.json</c> (<c>"_class_name": "OmniShapesPipeline"</c>), <c>scheduler/scheduler_config.json</c>
/// (<c>FlowMatchEulerDiscreteScheduler</c>), <c>text_encoder/config.json</c> + <c>model.safetensors</c> and
/// <c>transformer/config.json</c> + <c>diffusion_pytorch_model.safetensors</c> under diffusers' key names. Weights are
/// stored as float32, or float16/bfloat16 to save space, and are always loaded as float32.
/// </summary>
public static class ShapesPipelineFolder
{
    /// <summary>The text encoder's weight file name.</summary>
    public const string TextEncoderWeights = "model.safetensors";

    /// <summary>The transformer's weight file name.</summary>
    public const string TransformerWeights = "diffusion_pytorch_model.safetensors";

    /// <summary>The bundled model's folder, relative to the repository root and to an application that carries it.</summary>
    public const string BundledRelativePath = "models/omni-shapes-tiny";

    /// <summary>
    /// The bundled model beside the running application — where the <c>Omni.Shapes</c> package and the <c>omni</c> tool put
    /// it — or null when the application does not carry it.
    /// </summary>
    public static string? Bundled =>
        Path.Combine(AppContext.BaseDirectory, BundledRelativePath) is var folder && File.Exists(Path.Combine(folder, "model_index.json"))
            ? folder : null;

    /// <summary>
    /// Writes <paramref name="pipeline"/> to <paramref name="folder"/> atomically: the whole folder is written beside
    /// the target and swapped in, so a reader never sees a half-written model. An existing folder is replaced.
    /// </summary>
    public static void Save(ShapesPipeline pipeline, string folder, ScalarType weightDType = ScalarType.Float32)
    {
        if (weightDType is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"Weights are stored as float32, float16 or bfloat16, not {weightDType}.", nameof(weightDType));
        var target = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            WriteComponents(pipeline, staging, weightDType);
            var old = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.old");
            if (Directory.Exists(target)) Directory.Move(target, old);
            Directory.Move(staging, target);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Loads a folder written by <see cref="Save"/> (float32 modules in evaluation mode), or says what is wrong with it.</summary>
    public static Either<OmniError, ShapesPipeline> Load(string folder)
    {
        try
        {
            return from index in ModelFolder.ReadIndex(folder)
                   from _ in index.Architecture == ShapesPipeline.ClassName
                       ? Right<OmniError, Unit>(unit)
                       : Left<OmniError, Unit>(new OmniError(ErrorKind.NotSupported,
                           $"'{folder}' holds a {index.Architecture}, not an {ShapesPipeline.ClassName}."))
                   from prediction in CheckPrediction(folder)
                   from scheduler in ModelFolder.ReadSchedulerConfig(folder).ToEither()
                       .MapLeft(errors => errors.Head with { Message = string.Join(" ", errors.Map(e => e.Message)) })
                   from pipeline in LoadModules(folder, scheduler)
                   select pipeline;
        }
        catch (Exception e) when (e is IOException or JsonException or ArgumentException or SafetensorsException or NotSupportedException)
        {
            return Left<OmniError, ShapesPipeline>(OmniError.Invalid($"'{folder}' is not a loadable {ShapesPipeline.ClassName} folder: {e.Message}"));
        }
    }

    // The denoiser's output is read as a clean image (SamplePrediction); a folder whose model predicts something else
    // (the velocity models Omni bundled before) would sample garbage, so it is refused with what to do.
    private static Either<OmniError, Unit> CheckPrediction(string folder)
    {
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, ModelFolder.ModelIndex)));
        var found = index.RootElement.TryGetProperty(PredictionKey, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return found == SamplePrediction.PredictionType
            ? Right<OmniError, Unit>(unit)
            : Left<OmniError, Unit>(new OmniError(ErrorKind.NotSupported,
                $"'{folder}' has {(found is null ? $"no \"{PredictionKey}\"" : $"\"{PredictionKey}\": \"{found}\"")} in model_index.json; " +
                $"the shapes pipeline's denoiser predicts the clean image (\"{PredictionKey}\": \"{SamplePrediction.PredictionType}\"). " +
                "A folder saved by an older Omni holds a velocity model: recreate it with `omni pretrain --out <folder>`."));
    }

    /// <summary>The <c>model_index.json</c> key naming what the denoiser predicts.</summary>
    public const string PredictionKey = "prediction_type";

    private static Either<OmniError, ShapesPipeline> LoadModules(string folder, SchedulerConfig scheduler)
    {
        var textFolder = Path.Combine(folder, "text_encoder");
        var textConfigFile = Path.Combine(textFolder, "config.json");
        if (!File.Exists(textConfigFile))
            return Left<OmniError, ShapesPipeline>(new OmniError(ErrorKind.NotFound, $"'{textConfigFile}' does not exist: the folder has no text encoder."));
        var encoder = new ShapesTextEncoder(ShapesTextEncoderConfig.Parse(File.ReadAllText(textConfigFile)));
        WeightLoader.Load(encoder, Path.Combine(textFolder, TextEncoderWeights), strict: true);
        return TransformerLoader.Load(folder).Bind(denoiser => denoiser is Sd3Transformer2DModel sd3
            ? Right<OmniError, ShapesPipeline>(new ShapesPipeline(encoder, sd3, scheduler))
            : Left<OmniError, ShapesPipeline>(new OmniError(ErrorKind.NotSupported, $"'{folder}/transformer' is not an {ShapesDenoiser.ClassName}.")))
            .Map(pipeline =>
            {
                pipeline.Eval();
                return pipeline;
            });
    }

    private static void WriteComponents(ShapesPipeline pipeline, string folder, ScalarType dtype)
    {
        var options = new JsonSerializerOptions { WriteIndented = true };
        Write(Path.Combine(folder, ModelFolder.ModelIndex), new JsonObject
        {
            ["_class_name"] = ShapesPipeline.ClassName,
            ["_diffusers_version"] = "0.35.0",
            ["scheduler"] = new JsonArray("diffusers", "FlowMatchEulerDiscreteScheduler"),
            ["text_encoder"] = new JsonArray("omni", ShapesTextEncoderConfig.ClassName),
            ["tokenizer"] = new JsonArray(null, null),
            ["transformer"] = new JsonArray("diffusers", ShapesDenoiser.ClassName),
            ["vae"] = new JsonArray(null, null),
            ["image_size"] = pipeline.ImageSize,
            [PredictionKey] = SamplePrediction.PredictionType,
        }.ToJsonString(options));
        Write(Path.Combine(folder, ModelFolder.SchedulerConfigPath), SchedulerJson(pipeline.Scheduler));
        Write(Path.Combine(folder, "text_encoder", "config.json"), pipeline.TextEncoder.Config.ToJson());
        Write(Path.Combine(folder, "transformer", "config.json"), ShapesDenoiser.ToJson(pipeline.Transformer.Config));
        WriteWeights(pipeline.TextEncoder, Path.Combine(folder, "text_encoder", TextEncoderWeights), dtype);
        WriteWeights(pipeline.Transformer, Path.Combine(folder, "transformer", TransformerWeights), dtype);
    }

    private static void WriteWeights(nn.Module module, string path, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // LoRA adapters are not part of a pipeline folder: merge them first (LoraAdapters.Merge), or save them with LoraFiles.
        var tensors = module.state_dict().Where(p => !p.Key.Contains(".lora_A.") && !p.Key.Contains(".lora_B."))
                            .ToDictionary(p => p.Key, p => p.Value.detach().to(dtype).cpu().contiguous());
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text + "\n");
    }

    /// <summary>The diffusers <c>scheduler_config.json</c> text of <paramref name="config"/>.</summary>
    public static string SchedulerJson(SchedulerConfig config) => new JsonObject
    {
        ["_class_name"] = "FlowMatchEulerDiscreteScheduler",
        ["_diffusers_version"] = "0.35.0",
        ["num_train_timesteps"] = config.NumTrainTimesteps,
        ["shift"] = config.Shift,
        ["use_dynamic_shifting"] = config.UseDynamicShifting,
        ["base_shift"] = config.BaseShift,
        ["max_shift"] = config.MaxShift,
        ["base_image_seq_len"] = config.BaseImageSeqLen,
        ["max_image_seq_len"] = config.MaxImageSeqLen,
        ["invert_sigmas"] = config.InvertSigmas,
        ["shift_terminal"] = config.ShiftTerminal,
        ["use_karras_sigmas"] = config.UseKarrasSigmas,
        ["use_exponential_sigmas"] = config.UseExponentialSigmas,
        ["use_beta_sigmas"] = config.UseBetaSigmas,
        ["time_shift_type"] = config.TimeShiftType.ToString().ToLower(CultureInfo.InvariantCulture),
        ["stochastic_sampling"] = config.StochasticSampling,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
