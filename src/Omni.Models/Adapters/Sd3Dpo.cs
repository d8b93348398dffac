using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Rollouts;
using static LanguageExt.Prelude;

namespace Omni.Models.Adapters;

/// <summary>
/// The (<c>StableDiffusion3Pipeline</c>, <c>dpo</c>) adapter pair, as VeRL-Omni's SD3 DPO adapter: the policy sees an already
/// noised latent and its raw 0–1000 timestep; <c>prompt_embeds_mask</c> is required and passed as
/// <c>joint_attention_kwargs.attention_mask</c>; <c>pooled_prompt_embeds</c> is required; standard CFG
/// <c>neg + g·(pos − neg)</c> when <c>guidance_scale &gt; 1</c>, which then needs the negative embeddings and pooled embeddings.
/// The reference trains SD3 DPO offline only; here online DPO samples with the SD3 FlowGRPO rollout (its ODE, by default).
/// </summary>
public static class Sd3Dpo
{
    /// <summary>The registry key.</summary>
    public static readonly AdapterKey Key = new("StableDiffusion3Pipeline", "dpo");

    /// <summary>The training adapter.</summary>
    public static TrainingAdapter Training { get; } = Sd3FlowGrpo.Training with
    {
        Name = "StableDiffusion3DPO",
        PrepareModelInputs = (_, config, request) => PrepareInputs(config, request),
        Forward = (module, config, positive, negative) =>
            negative is not null && (config.Pipeline.GuidanceScale ?? 1.0) > 1
                ? Guidance.Combine(module.Forward(positive), module.Forward(negative), config.Pipeline.GuidanceScale!.Value)
                : module.Forward(positive),
    };

    /// <summary>The rollout: SD3 FlowGRPO's sampler under this pair's name.</summary>
    public static RolloutAdapter Rollout { get; } = Sd3FlowGrpo.Rollout with { Name = "StableDiffusion3DPO rollout" };

    private static Either<OmniError, (ModelInputs, ModelInputs?)> PrepareInputs(DiffusionModelConfig config, ModelInputRequest request)
    {
        if (request.PromptEmbedsMask is not { } mask)
            return Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid("prompt_embeds_mask is required for DPO training."));
        if (!request.Extras.TryGetValue(Sd3FlowGrpo.Pooled, out var pooled))
            return Left<OmniError, (ModelInputs, ModelInputs?)>(new OmniError(ErrorKind.NotFound, "SD3 DPO training requires `pooled_projections` in the micro batch."));
        var positive = ModelInputs.Empty
            .With("hidden_states", request.CurrentLatent)
            .With("encoder_hidden_states", request.PromptEmbeds)
            .With("pooled_projections", pooled)
            .With("timestep", request.CurrentTimesteps)
            .With("joint_attention_kwargs", ImmutableDictionary<string, object?>.Empty.Add("attention_mask", mask));
        if ((config.Pipeline.GuidanceScale ?? 1.0) <= 1) return (positive, null);
        if (request.NegativePromptEmbeds is not { } negativeEmbeds || !request.Extras.TryGetValue(Sd3FlowGrpo.NegativePooled, out var negativePooled))
            return Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid("SD3 DPO CFG requires negative prompt inputs when guidance_scale > 1."));
        var negative = positive.With("encoder_hidden_states", negativeEmbeds).With("pooled_projections", negativePooled);
        if (request.NegativePromptEmbedsMask is { } negativeMask)
            negative = negative.With("joint_attention_kwargs", ImmutableDictionary<string, object?>.Empty.Add("attention_mask", negativeMask));
        return (positive, negative);
    }
}
