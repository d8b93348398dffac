using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using Omni.Models.QwenImage;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Models.Adapters;

/// <summary>
/// The (<c>QwenImagePipeline</c>, <c>flow_grpo</c>) adapter pair and its MixGRPO twin, as VeRL-Omni's Qwen-Image
/// adapter: sigmas <c>linspace(1, 1/N, N)</c> with <c>mu</c> from the packed sequence length (H/16)·(W/16) and the
/// scheduler's shift settings; <c>timestep/1000</c>; the text mask and <c>img_shapes</c> as model arguments; true CFG
/// with per-token norm rescaling when <c>true_cfg_scale &gt; 1</c>. MixGRPO trains the same way; its SDE window is a
/// rollout setting.
/// </summary>
public static class QwenImageFlowGrpo
{
    /// <summary>The FlowGRPO registry key.</summary>
    public static readonly AdapterKey Key = new("QwenImagePipeline", "flow_grpo");

    /// <summary>The MixGRPO registry key.</summary>
    public static readonly AdapterKey MixGrpoKey = new("QwenImagePipeline", "mix_grpo");

    /// <summary>The training adapter.</summary>
    public static TrainingAdapter Training { get; } = new()
    {
        Name = "QwenImage",
        SetTimesteps = (scheduler, config) =>
        {
            var n = config.Pipeline.NumInferenceSteps;
            var sequence = config.Pipeline.Height / config.VaeScaleFactor / 2 * (config.Pipeline.Width / config.VaeScaleFactor / 2);
            var mu = Shifts.CalculateShift(sequence, scheduler.BaseImageSeqLen, scheduler.MaxImageSeqLen, scheduler.BaseShift, scheduler.MaxShift);
            return TimestepRequest.FromSigmas(TimestepRequest.QwenImageSigmas(n), mu);
        },
        PrepareModelInputs = (_, config, request) =>
        {
            var shapes = QwenImageTransformer2DModel.ImageShapes(config.Pipeline.Height, config.Pipeline.Width, (int)request.Latents.shape[0], config.VaeScaleFactor);
            var positive = ModelInputs.Empty
                .With("hidden_states", request.CurrentLatent)
                .With("timestep", request.CurrentTimesteps / 1000f)
                .With("encoder_hidden_states", request.PromptEmbeds)
                .With("encoder_hidden_states_mask", request.PromptEmbedsMask)
                .With("img_shapes", shapes);
            var negative = request.NegativePromptEmbeds is { } negativeEmbeds
                ? positive.With("encoder_hidden_states", negativeEmbeds).With("encoder_hidden_states_mask", request.NegativePromptEmbedsMask)
                : null;
            return Right<OmniError, (ModelInputs, ModelInputs?)>((positive, negative));
        },
        Forward = (module, config, positive, negative) =>
            negative is not null && config.Pipeline.TrueCfgScale > 1
                ? Guidance.TrueCfg(module.Forward(positive), module.Forward(negative), config.Pipeline.TrueCfgScale)
                : module.Forward(positive),
        ForwardAndSamplePreviousStep = TrajectoryStep.ForwardAndSample,
    };

    /// <summary>MixGRPO's training adapter: the FlowGRPO one under its own name.</summary>
    public static TrainingAdapter MixGrpoTraining { get; } = Training with { Name = "QwenImageMixGRPO" };

    /// <summary>
    /// The standard rollout: noise drawn as (B, 1, C, h, w) with C = in_channels / 4 and h = 2·⌊H/(2f)⌋, then packed
    /// to (B, (h/2)(w/2), 4C), as the Qwen-Image pipeline does.
    /// </summary>
    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context =>
        from qwen in context.ModuleAs<QwenImageTransformer2DModel>("QwenImagePipeline")
        let config = context.Config
        select new[] { context.Request.BatchSize, 1, qwen.Config.InChannels / 4, QwenImageLatents.LatentSize(config.Pipeline.Height, config.VaeScaleFactor),
                       QwenImageLatents.LatentSize(config.Pipeline.Width, config.VaeScaleFactor) },
        prepareInitial: QwenImageLatents.Pack);
}
