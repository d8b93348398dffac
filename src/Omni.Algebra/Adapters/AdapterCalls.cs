using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// Calls into one adapter with the reference's surrounding rules: image-conditioned adapters must produce a
/// condition, which is injected into the arguments, and their predictions are cropped back to the target tokens.
/// Adapters' own <see cref="TrainingAdapter.ForwardAndSamplePreviousStep"/> should predict through
/// <see cref="Forward"/> so the same rules apply in training and rollout.
/// </summary>
public static class AdapterCalls
{
    /// <summary>The denoiser's arguments for one step, with the condition injected for image-conditioned adapters.</summary>
    public static Either<OmniError, (ModelInputs Positive, ModelInputs? Negative)> PrepareModelInputs(
        TrainingAdapter adapter, IDenoiser module, DiffusionModelConfig config, ModelInputRequest request) =>
        adapter.PrepareModelInputs(module, config, request).Bind(inputs => adapter.Conditioning.Match(
            None: () => Right<OmniError, (ModelInputs, ModelInputs?)>(inputs),
            Some: conditioning => conditioning.PrepareCondition(request.Extras, request.Latents, request.Step).Match(
                None: () => Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid(
                    $"{adapter.Name}.prepare_condition returned None. Available micro-batch keys: [{string.Join(", ", request.Extras.Keys.Order())}]. "
                    + "Check that the rollout output contains the condition fields expected by this adapter.")),
                Some: condition => condition.IsEmpty
                    ? Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid(
                        $"{adapter.Name}.prepare_condition returned an empty condition; expected at least '{ImageConditioning.ImageLatents}'."))
                    : conditioning.InjectCondition(inputs.Positive, inputs.Negative, condition))));

    /// <summary>One prediction through the adapter's <see cref="TrainingAdapter.Forward"/>, cropped for image-conditioned adapters.</summary>
    public static Either<OmniError, Tensor> Forward(
        TrainingAdapter adapter, IDenoiser module, DiffusionModelConfig config, ModelInputs positive, ModelInputs? negative)
    {
        if (adapter.Conditioning.IsNone) return Right<OmniError, Tensor>(adapter.Forward(module, config, positive, negative));
        return ImageConditioning.Crop(positive, negative)
            .Bind(stripped => stripped.Crop(adapter.Forward(module, config, stripped.Positive, stripped.Negative)));
    }

    /// <summary>The float32 prediction for an already selected latent (the rollout's call).</summary>
    public static Either<OmniError, Tensor> Predict(
        TrainingAdapter adapter, IDenoiser module, DiffusionModelConfig config, ModelInputRequest request, int step) =>
        from inputs in PrepareModelInputs(adapter, module, config, request)
        from prediction in Forward(adapter, module, config, inputs.Positive, inputs.Negative)
        select prediction.to(ScalarType.Float32);

    /// <summary>Runs <see cref="TrainingAdapter.ForwardAndSamplePreviousStep"/> of <paramref name="adapter"/> on itself.</summary>
    public static Either<OmniError, PolicyStep> ForwardAndSamplePreviousStep(TrainingAdapter adapter, StepContext context) =>
        adapter.ForwardAndSamplePreviousStep(adapter, context);

    /// <summary>The micro-batch of a training step as the adapter's input request (trajectory plus step index).</summary>
    public static Either<OmniError, ModelInputRequest> TrajectoryRequest(MicroBatch microBatch, int step) =>
        microBatch.CheckStep(step).Map(k => new ModelInputRequest(microBatch.AllLatents, microBatch.AllTimesteps, k, microBatch.PromptEmbeds,
            microBatch.PromptEmbedsMask, microBatch.NegativePromptEmbeds, microBatch.NegativePromptEmbedsMask) { Extras = microBatch.Extras });
}
