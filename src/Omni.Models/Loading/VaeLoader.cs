using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Effects.Diffusers;
using Omni.Effects.Safetensors;
using Omni.Models.Vae;
using static LanguageExt.Prelude;

namespace Omni.Models.Loading;

/// <summary>Loads a pipeline folder's <c>vae/</c> (strictly, under diffusers' parameter names) when Omni implements its class.</summary>
public static class VaeLoader
{
    /// <summary>The folder's <see cref="AutoencoderKL"/>, or why it cannot be loaded.</summary>
    public static Either<OmniError, AutoencoderKL> LoadAutoencoderKL(string pipelineFolder, string subfolder = "vae")
    {
        var folder = Path.Combine(pipelineFolder, subfolder);
        var configFile = Path.Combine(folder, "config.json");
        if (!File.Exists(configFile))
            return Left<OmniError, AutoencoderKL>(new OmniError(ErrorKind.NotFound, $"'{configFile}' does not exist: the pipeline folder has no {subfolder}."));
        return JsonFiles.Read(configFile).Bind(root =>
        {
            var className = ComponentConfig.ClassName(root);
            if (className != "AutoencoderKL")
                return Left<OmniError, AutoencoderKL>(new OmniError(ErrorKind.NotSupported, $"'{configFile}' names '{className}'; Omni decodes AutoencoderKL so far."));
            var vae = new AutoencoderKL(AutoencoderKLConfig.Parse(File.ReadAllText(configFile)));
            using (var weights = WeightFiles.Open(folder)) WeightLoader.Load(vae, weights, strict: true, folder);
            vae.eval();
            return Right<OmniError, AutoencoderKL>(vae);
        });
    }
}
