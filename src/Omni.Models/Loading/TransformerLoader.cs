using System.Text.Json;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Effects.Diffusers;
using Omni.Effects.Safetensors;
using Omni.Models.Sd3;
using TorchSharp;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Models.Loading;

/// <summary>
/// Loads the denoiser of a diffusers pipeline folder: <c>transformer/config.json</c>'s <c>_class_name</c> selects the
/// module, and <c>transformer/diffusion_pytorch_model.safetensors</c> is loaded into it strictly, then cast to the
/// requested dtype, if any.
/// </summary>
public static class TransformerLoader
{
    /// <summary>The module classes Omni can build, by diffusers class name.</summary>
    public static readonly IReadOnlyDictionary<string, Func<string, nn.Module>> Builders = new Dictionary<string, Func<string, nn.Module>>
    {
        ["SD3Transformer2DModel"] = configJson => new Sd3Transformer2DModel(Sd3Config.Parse(configJson)),
        ["QwenImageTransformer2DModel"] = configJson => new QwenImage.QwenImageTransformer2DModel(QwenImage.QwenImageConfig.Parse(configJson)),
        ["WanTransformer3DModel"] = configJson => new Wan.WanTransformer3DModel(Wan.WanConfig.Parse(configJson)),
    };

    /// <summary>Builds and loads the folder's transformer, or explains why it cannot.</summary>
    public static Either<OmniError, IDenoiser> Load(string pipelineFolder, string subfolder = "transformer", ScalarType? dtype = null)
    {
        var folder = Path.Combine(pipelineFolder, subfolder);
        var configFile = Path.Combine(folder, "config.json");
        if (!File.Exists(configFile))
            return Left<OmniError, IDenoiser>(new OmniError(ErrorKind.NotFound, $"'{configFile}' does not exist: the pipeline folder has no {subfolder}."));
        return JsonFiles.Read(configFile).Bind(root =>
        {
            var className = ComponentConfig.ClassName(root);
            if (className is null || !Builders.TryGetValue(className, out var build))
                return Left<OmniError, IDenoiser>(new OmniError(ErrorKind.NotSupported,
                    $"'{configFile}' names the class '{className}', which Omni cannot build. Known: [{string.Join(", ", Builders.Keys.Order())}]."));
            var module = build(File.ReadAllText(configFile));
            using (var weights = WeightFiles.Open(folder)) WeightLoader.Load(module, weights, strict: true, folder);
            if (dtype is { } type) Common.Precision.Cast(module, type);
            module.eval();
            return Right<OmniError, IDenoiser>((IDenoiser)module);
        });
    }
}
