using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using Omni.Models.Wan;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Models.Adapters;

/// <summary>
/// The (<c>WanPipeline</c>, <c>dance_grpo</c>) adapter pair, as VeRL-Omni's Wan 2.2 DanceGRPO adapter: sigmas
/// <c>sd3_time_shift(5, linspace(1, 0, N + 1))[:N]</c> in float32 (the scheduler's own static shift then applies on
/// top); timesteps truncated to integers for the transformer; prompt embeddings zeroed where the mask is 0 (the Wan
/// transformer takes no mask); plain CFG <c>neg + s·(pos − neg)</c> with <c>true_cfg_scale &gt; 1</c>. Unlike the
/// reference, the rollout guides with the same scale as training (the reference's rollout reads
/// <c>guidance_scale</c>), so a rollout and its recomputation always describe the same policy.
/// </summary>
public static class WanDanceGrpo
{
    /// <summary>The registry key.</summary>
    public static readonly AdapterKey Key = new("WanPipeline", "dance_grpo");

    /// <summary>The reference's time shift for Wan DanceGRPO.</summary>
    public const double Shift = 5.0;

    /// <summary>The VAE's temporal compression.</summary>
    public const int TemporalScaleFactor = 4;

    /// <summary>The training adapter.</summary>
    public static TrainingAdapter Training { get; } = new()
    {
        Name = "Wan22DanceGRPO",
        SetTimesteps = (_, config) => TimestepRequest.FromSigmas(Sigmas(config.Pipeline.NumInferenceSteps)),
        PrepareModelInputs = (_, config, request) =>
        {
            var positive = ModelInputs.Empty
                .With("hidden_states", request.CurrentLatent)
                .With("timestep", request.CurrentTimesteps.to(ScalarType.Int64))
                .With("encoder_hidden_states", Masked(request.PromptEmbeds, request.PromptEmbedsMask));
            if (config.Pipeline.TrueCfgScale <= 1) return Right<OmniError, (ModelInputs, ModelInputs?)>((positive, null));
            if (request.NegativePromptEmbeds is not { } negative)
                return Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid("Wan CFG (true_cfg_scale > 1) requires negative prompt embeds."));
            return Right<OmniError, (ModelInputs, ModelInputs?)>((positive, positive.With("encoder_hidden_states", Masked(negative, request.NegativePromptEmbedsMask))));
        },
        Forward = (module, config, positive, negative) =>
            negative is not null && config.Pipeline.TrueCfgScale > 1
                ? Guidance.Combine(module.Forward(positive), module.Forward(negative), config.Pipeline.TrueCfgScale)
                : module.Forward(positive),
        ForwardAndSamplePreviousStep = TrajectoryStep.ForwardAndSample,
    };

    /// <summary>The standard rollout: latents (B, C, (F − 1)/4 + 1, H/f, W/f).</summary>
    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context =>
        from wan in context.ModuleAs<WanTransformer3DModel>("WanPipeline")
        let config = context.Config
        select new[] { context.Request.BatchSize, wan.Config.InChannels, (config.Pipeline.NumFrames - 1) / TemporalScaleFactor + 1,
                       config.Pipeline.Height / config.VaeScaleFactor, config.Pipeline.Width / config.VaeScaleFactor });

    /// <summary><c>shift·t/(1 + (shift − 1)·t)</c> over <c>torch.linspace(1, 0, N + 1)</c> in float32, without the final 0.</summary>
    public static IEnumerable<double> Sigmas(int steps)
    {
        using var scope = NewDisposeScope();
        var t = linspace(1, 0, steps + 1, ScalarType.Float32);
        var shifted = Shift * t / (1 + (Shift - 1) * t);
        return shifted.narrow(0, 0, steps).data<float>().ToArray().Select(s => (double)s).ToArray();
    }

    private static Tensor Masked(Tensor embeds, Tensor? mask) => mask is null ? embeds : embeds * mask.unsqueeze(-1).to(embeds.dtype);
}
