using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Models.QwenImage;
using static LanguageExt.Prelude;

namespace Omni.Models.Adapters;

/// <summary>
/// The (<c>QwenImagePipeline</c>, <c>dpo</c>) adapter pair, as VeRL-Omni's Qwen-Image DPO adapter: the noised latent, its
/// <c>timestep/1000</c>, the required text mask and <c>img_shapes</c>; with <c>true_cfg_scale &gt; 1</c> the negative inputs are
/// built (and required), but the prediction is the positive pass only — the reference's DPO engine calls the default
/// <c>forward</c>, which this adapter does not override, so Diffusion-DPO trains the unguided model. Rollouts sample with the
/// Qwen-Image sampler, true CFG included.
/// </summary>
public static class QwenImageDpo
{
    /// <summary>The registry key.</summary>
    public static readonly AdapterKey Key = new("QwenImagePipeline", "dpo");

    /// <summary>The training adapter.</summary>
    public static TrainingAdapter Training { get; } = QwenImageFlowGrpo.Training with
    {
        Name = "QwenImageDPO",
        PrepareModelInputs = (_, config, request) => PrepareInputs(config, request),
        Forward = (module, _, positive, _) => module.Forward(positive),
    };

    /// <summary>The rollout: the Qwen-Image sampler (true CFG when configured) under this pair's name.</summary>
    public static RolloutAdapter Rollout { get; } = QwenImageFlowGrpo.Rollout with { Name = "QwenImageDPO rollout" };

    private static Either<OmniError, (ModelInputs, ModelInputs?)> PrepareInputs(DiffusionModelConfig config, ModelInputRequest request)
    {
        if (request.PromptEmbedsMask is not { } mask)
            return Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid("prompt_embeds_mask is required for Qwen-Image DPO training."));
        var shapes = QwenImageTransformer2DModel.ImageShapes(config.Pipeline.Height, config.Pipeline.Width, (int)request.Latents.shape[0], config.VaeScaleFactor);
        var positive = ModelInputs.Empty
            .With("hidden_states", request.CurrentLatent)
            .With("timestep", request.CurrentTimesteps / 1000f)
            .With("encoder_hidden_states_mask", mask)
            .With("encoder_hidden_states", request.PromptEmbeds)
            .With("img_shapes", shapes);
        if (config.Pipeline.TrueCfgScale <= 1) return (positive, null);
        if (request.NegativePromptEmbeds is not { } negativeEmbeds || request.NegativePromptEmbedsMask is not { } negativeMask)
            return Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid("Qwen-Image DPO True-CFG requires negative prompt inputs."));
        return (positive, positive.With("encoder_hidden_states", negativeEmbeds).With("encoder_hidden_states_mask", negativeMask));
    }
}
