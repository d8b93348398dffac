using Omni.Algebra.Errors;
using Omni.Effects.Diffusers;
using Omni.Models.Loading;
using static TorchSharp.torch;

namespace Omni.Facade.Training;

/// <summary>Chooses the decoder of a pipeline folder from <c>vae/config.json</c>.</summary>
public static class FolderDecoder
{
    /// <summary>Latents → images in [0, 1] through the folder's VAE.</summary>
    /// <exception cref="OmniException">The folder has no VAE Omni can load; use <c>WithDecoder</c>.</exception>
    public static Func<Tensor, Tensor> For(string folder)
    {
        var config = Path.Combine(folder, "vae", "config.json");
        if (!File.Exists(config))
            throw new OmniException([OmniError.Invalid($"'{folder}' has no vae/config.json. An architecture with its own decoder supplies it from its adapter "
                + "(TrainingAdapter.BuildDecoder = _ => Decoding.With(latents => images)), or Decoding.None when its rewards score latents; "
                + "in code, OmniTrainingBuilder.WithDecoder(latents => images) also works.")]);
        var name = JsonFiles.Read(config).Map(ComponentConfig.ClassName).OrThrow();
        if (name == "AutoencoderKL")
        {
            var vae = VaeLoader.LoadAutoencoderKL(folder).OrThrow();
            return latents =>
            {
                using var noGrad = no_grad();
                using var scope = NewDisposeScope();
                return vae.DecodeLatents(latents).add(1).div(2).clamp(0, 1).MoveToOuterDisposeScope();
            };
        }
        throw new OmniException([new OmniError(ErrorKind.NotSupported,
            $"Omni cannot decode with the VAE class '{name}' of '{folder}' here; give a decoder with WithDecoder(latents => images).")]);
    }
}
