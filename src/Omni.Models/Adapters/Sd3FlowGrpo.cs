using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Models.Adapters;

/// <summary>
/// The (<c>StableDiffusion3Pipeline</c>, <c>flow_grpo</c>) adapter pair, as VeRL-Omni's SD3 adapter: the scheduler
/// config's static shift (dynamic shifting only if the config asks, with <c>mu</c> from (H/16)·(W/16)); raw 0–1000
/// timesteps; no attention mask; <c>pooled_prompt_embeds</c> required; batched CFG <c>neg + g·(pos − neg)</c> when
/// <c>guidance_scale &gt; 1</c>.
/// </summary>
public static class Sd3FlowGrpo
{
    /// <summary>The registry key.</summary>
    public static readonly AdapterKey Key = new("StableDiffusion3Pipeline", "flow_grpo");

    /// <summary>The micro-batch key of the pooled text embedding.</summary>
    public const string Pooled = "pooled_prompt_embeds";

    /// <summary>The micro-batch key of the negative pooled text embedding.</summary>
    public const string NegativePooled = "negative_pooled_prompt_embeds";

    /// <summary>The training adapter.</summary>
    public static TrainingAdapter Training { get; } = new()
    {
        Name = "StableDiffusion3FlowGRPO",
        SetTimesteps = (scheduler, config) => TimestepRequest.Steps(config.Pipeline.NumInferenceSteps,
            scheduler.UseDynamicShifting
                ? Shifts.CalculateShift(config.Pipeline.Height / 16 * (config.Pipeline.Width / 16), scheduler.BaseImageSeqLen,
                                        scheduler.MaxImageSeqLen, scheduler.BaseShift, scheduler.MaxShift)
                : null),
        PrepareModelInputs = (_, config, request) => PrepareInputs(config, request),
        Forward = (module, config, positive, negative) =>
            negative is not null && config.Pipeline.GuidanceScale is > 1 and var g
                ? Guidance.Combine(module.Forward(positive), module.Forward(negative), g)
                : module.Forward(positive),
        ForwardAndSamplePreviousStep = TrajectoryStep.ForwardAndSample,
    };

    /// <summary>
    /// The standard rollout: latents (B, in_channels, H/f, W/f) with f the VAE factor and in_channels the transformer's.
    /// It records final latents only; the trainer decodes them with the folder's VAE.
    /// </summary>
    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context =>
        from sd3 in context.ModuleAs<Sd3.Sd3Transformer2DModel>("StableDiffusion3Pipeline")
        let config = context.Config
        select new[] { context.Request.BatchSize, sd3.Config.InChannels, config.Pipeline.Height / config.VaeScaleFactor, config.Pipeline.Width / config.VaeScaleFactor });

    private static Either<OmniError, (ModelInputs, ModelInputs?)> PrepareInputs(DiffusionModelConfig config, ModelInputRequest request)
    {
        if (!request.Extras.TryGetValue(Pooled, out var pooled))
            return Left<OmniError, (ModelInputs, ModelInputs?)>(new OmniError(ErrorKind.NotFound, "SD3 FlowGRPO requires `pooled_prompt_embeds` from rollout."));
        var positive = ModelInputs.Empty
            .With("hidden_states", request.CurrentLatent)
            .With("encoder_hidden_states", request.PromptEmbeds)
            .With("pooled_projections", pooled)
            .With("timestep", request.CurrentTimesteps);
        if (config.Pipeline.GuidanceScale is not > 1) return (positive, null);
        if (request.NegativePromptEmbeds is not { } negativeEmbeds)
            return Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid("SD3 CFG requires negative prompt embeds when guidance_scale > 1."));
        if (!request.Extras.TryGetValue(NegativePooled, out var negativePooled))
            return Left<OmniError, (ModelInputs, ModelInputs?)>(new OmniError(ErrorKind.NotFound,
                "SD3 CFG requires `negative_pooled_prompt_embeds` from rollout when guidance_scale > 1."));
        return (positive, positive.With("encoder_hidden_states", negativeEmbeds).With("pooled_projections", negativePooled));
    }
}
