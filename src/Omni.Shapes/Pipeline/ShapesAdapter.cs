using Omni.Algebra.Adapters;
using Omni.Algebra.Registries;
using Omni.Algebra.Rollouts;
using Omni.Models.Adapters;
using Omni.Models.Sd3;
using Omni.Shapes.Model;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// The shapes model's adapter pair, registered under every algorithm of <see cref="ObjectiveRegistry.Default"/> (one model call
/// serves the reverse-trajectory, paired-preference and forward-process flows alike). The denoiser is an SD3 MMDiT that predicts
/// the clean image (<see cref="SamplePrediction"/>: the adapter hands the scheduler the velocity it implies), and the model call is
/// SD3's (raw 0–1000 timesteps, <c>pooled_prompt_embeds</c> required, batched CFG <c>neg + g·(pos − neg)</c> from
/// the empty prompt when <c>guidance_scale &gt; 1</c>); the latents are the images themselves, (B, 3, H, W) in
/// [−1, 1] whatever <c>vae_scale_factor</c> says, and the adapter's decoder maps them to [0, 1] (<see cref="ShapesImages.Decode"/>).
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
        // Pixel space: the "latents" are the image in [-1, 1].
        BuildDecoder = _ => Decoding.With(ShapesImages.Decode),
    };

    /// <summary>The standard rollout in pixel space: initial noise (B, 3, H, W).</summary>
    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context =>
        from sd3 in context.ModuleAs<Sd3Transformer2DModel>(ShapesPipeline.ClassName)
        select new[] { context.Request.BatchSize, sd3.Config.InChannels, context.Config.Pipeline.Height, context.Config.Pipeline.Width });

    /// <summary>Every algorithm the pair is registered under: <c>flow_grpo</c> and each algorithm with a built-in recipe.</summary>
    public static IReadOnlyList<string> Algorithms { get; } =
        [.. ObjectiveRegistry.Default.Recipes.Keys.Prepend(Key.Algorithm).Distinct(StringComparer.Ordinal)];

    /// <summary>Adds the pair to <paramref name="registries"/> under every algorithm of <see cref="Algorithms"/>.</summary>
    public static AdapterRegistries Register(AdapterRegistries registries) =>
        Algorithms.Aggregate(registries, (r, algorithm) => r.Register(new AdapterKey(ShapesPipeline.ClassName, algorithm), Training, Rollout));
}
