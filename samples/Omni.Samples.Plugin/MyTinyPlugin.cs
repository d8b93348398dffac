using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Samples.Plugin;

/// <summary>
/// Registers MyTinyPipeline for Flow-GRPO. Omni finds this class when <c>external_assembly</c> names this assembly: a
/// public <see cref="IOmniPlugin"/> with a parameterless constructor.
/// </summary>
public sealed class MyTinyPlugin : IOmniPlugin
{
    /// <summary>The architecture: <c>_class_name</c> in the pipeline folder's <c>model_index.json</c>.</summary>
    public const string Architecture = "MyTinyPipeline";

    /// <summary>How MyTinyPipeline trains.</summary>
    public static TrainingAdapter Training { get; } = new()
    {
        Name = "MyTinyFlowGRPO",
        // The schedule: num_inference_steps of the scheduler in scheduler/scheduler_config.json.
        SetTimesteps = (_, config) => TimestepRequest.Steps(config.Pipeline.NumInferenceSteps),
        // The denoiser's keyword arguments for one step (rollout and training both come through here).
        PrepareModelInputs = (_, _, request) => Right<OmniError, (ModelInputs, ModelInputs?)>((
            ModelInputs.Empty
                .With("hidden_states", request.CurrentLatent)
                .With("timestep", request.CurrentTimesteps)
                .With("encoder_hidden_states", request.PromptEmbeds),
            null)),
        ForwardAndSamplePreviousStep = TrajectoryStep.ForwardAndSample,
        // Omni does not ship this architecture's module: build it and load the folder's weights here.
        BuildModule = config => Some<IDenoiser>(MyTinyDenoiser.Load(config.Path)),
        // No AutoencoderKL: the architecture decodes itself (the rewards score images).
        BuildDecoder = config => Decoding.With(latents => MyTinyDecoder.Decode(latents, config.VaeScaleFactor)),
    };

    /// <summary>How MyTinyPipeline samples: initial noise (B, 4, height / vae_scale_factor, width / vae_scale_factor).</summary>
    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context =>
        [context.Request.BatchSize, 4, context.Config.Pipeline.Height / context.Config.VaeScaleFactor,
         context.Config.Pipeline.Width / context.Config.VaeScaleFactor]);

    /// <inheritdoc />
    public AdapterRegistries Register(AdapterRegistries registries) =>
        registries.Register(new AdapterKey(Architecture, "flow_grpo"), Training, Rollout);
}

/// <summary>MyTinyPipeline's decoder: the first three latent channels as RGB, upsampled by the VAE scale factor.</summary>
public static class MyTinyDecoder
{
    /// <summary>(B, 4, h, w) latents → (B, 3, h·f, w·f) images in [0, 1].</summary>
    public static Tensor Decode(Tensor latents, int scaleFactor)
    {
        using var scope = NewDisposeScope();
        var rgb = latents[.., ..3].tanh().add(1f).div(2f);
        var images = scaleFactor == 1 ? rgb : nn.functional.interpolate(rgb, scale_factor: [scaleFactor, scaleFactor], mode: InterpolationMode.Nearest);
        return images.contiguous().MoveToOuterDisposeScope();
    }
}
