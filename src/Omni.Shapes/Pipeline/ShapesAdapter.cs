using Omni.Algebra.Adapters;
using Omni.Algebra.Rollouts;
using Omni.Models.Adapters;
using Omni.Models.Sd3;
using Omni.Shapes.Model;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// The (<c>OmniShapesPipeline</c>, <c>flow_grpo</c>) adapter pair. The denoiser is an SD3 MMDiT that predicts the clean
/// image (<see cref="SamplePrediction"/>: the adapter hands the scheduler the velocity it implies), and the model call is
/// SD3's (raw 0–1000 timesteps, <c>pooled_prompt_embeds</c> required, batched CFG <c>neg + g·(pos − neg)</c> from
/// the empty prompt when <c>guidance_scale &gt; 1</c>); the latents are the images themselves, (B, 3, H, W) in
/// [−1, 1] whatever <c>vae_scale_factor</c> says, and the rollout decodes them to [0, 1] (<see cref="ShapesImages.Decode"/>).
/// </summary>
public static class ShapesAdapter
{
    /// <summary>The registry key.</summary>
    public static readonly AdapterKey Key = new(ShapesPipeline.ClassName, "flow_grpo");

    /// <summary>
    /// The training adapter: SD3 FlowGRPO's functions under their own name, with the forward call reading the denoiser's
    /// output as a clean image and handing the scheduler the velocity it implies (<see cref="SamplePrediction"/>). CFG
    /// commutes with that conversion (it is affine in the prediction, with the same latents and σ), so SD3's guided
    /// prediction is converted once.
    /// </summary>
    public static TrainingAdapter Training { get; } = Sd3FlowGrpo.Training with
    {
        Name = "OmniShapesFlowGRPO",
        Forward = (module, config, positive, negative) => SamplePrediction.Velocity(
            positive.Tensor("hidden_states"), Sd3FlowGrpo.Training.Forward(module, config, positive, negative), positive.Tensor("timestep")),
    };

    /// <summary>The standard rollout in pixel space: initial noise (B, 3, H, W), images decoded to [0, 1].</summary>
    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context =>
        from sd3 in context.ModuleAs<Sd3Transformer2DModel>(ShapesPipeline.ClassName)
        select new[] { context.Request.BatchSize, sd3.Config.InChannels, context.Config.Pipeline.Height, context.Config.Pipeline.Width },
        decode: ShapesImages.Decode);

    /// <summary>Adds the pair to <paramref name="registries"/>.</summary>
    public static AdapterRegistries Register(AdapterRegistries registries) => registries.Register(Key, Training, Rollout);
}
