using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// The image-to-image hooks of an adapter (the reference's <c>DiffusionI2IModelBase</c>): extract the condition
/// from the micro-batch, inject it into the model arguments, and crop the prediction back to the target tokens.
/// The default injection concatenates <c>image_latents</c> after <c>hidden_states</c> on the sequence dimension.
/// </summary>
/// <param name="PrepareCondition">Micro-batch, latents, step → the condition tensors (<c>image_latents</c>, …), or None when absent.</param>
public sealed record ImageConditioning(
    Func<ImmutableDictionary<string, Tensor>, Tensor, int?, Option<ImmutableDictionary<string, Tensor>>> PrepareCondition)
{
    /// <summary>The argument carrying the condition latents.</summary>
    public const string ImageLatents = "image_latents";

    /// <summary>The private argument that records how many target tokens the prediction keeps.</summary>
    public const string TargetSequenceLength = "_target_seq_len";

    /// <summary>Injects the condition; by default <see cref="ConcatAndCrop"/>.</summary>
    public Func<ModelInputs, ModelInputs?, ImmutableDictionary<string, Tensor>, Either<OmniError, (ModelInputs, ModelInputs?)>> InjectCondition { get; init; } = ConcatAndCrop;

    /// <summary>
    /// Concatenates <c>condition["image_latents"]</c> (B, S', D) after <c>hidden_states</c> (B, S, D) in both
    /// argument sets and records S so that <see cref="Crop"/> can cut the prediction back.
    /// </summary>
    public static Either<OmniError, (ModelInputs, ModelInputs?)> ConcatAndCrop(
        ModelInputs positive, ModelInputs? negative, ImmutableDictionary<string, Tensor> condition)
    {
        if (condition.IsEmpty) return (positive, negative);
        if (!condition.TryGetValue(ImageLatents, out var latents))
            return Invalid("inject_condition requires condition['image_latents']");
        if (positive.Contains(ImageLatents))
            return Invalid("inject_condition: 'image_latents' found in model_inputs; this key is reserved for the condition latents. Pass them through the condition instead.");
        var hidden = positive.Tensor("hidden_states");
        if (latents.shape[0] != hidden.shape[0])
            return Invalid($"inject_condition: condition image_latents batch size ({latents.shape[0]}) does not match hidden_states batch size ({hidden.shape[0]}).");
        if (latents.dim() != 3)
            return Invalid($"inject_condition: condition image_latents must be 3-D (batch, seq, dim), got shape ({string.Join(", ", latents.shape)})");
        var target = hidden.shape[1];
        ModelInputs Inject(ModelInputs inputs)
        {
            var h = inputs.Tensor("hidden_states");
            return inputs.With("hidden_states", cat([h, latents.to(h.dtype, h.device)], 1)).With(TargetSequenceLength, target);
        }
        return (Inject(positive), negative is null ? null : Inject(negative));
    }

    /// <summary>
    /// Removes the private target length from both argument sets, and returns a function that crops a prediction
    /// to it (identity when no condition was injected).
    /// </summary>
    public static Either<OmniError, (ModelInputs Positive, ModelInputs? Negative, Func<Tensor, Either<OmniError, Tensor>> Crop)> Crop(
        ModelInputs positive, ModelInputs? negative)
    {
        var target = positive.Values.TryGetValue(TargetSequenceLength, out var p) ? (long?)Convert.ToInt64(p) : null;
        var negativeTarget = negative is not null && negative.Values.TryGetValue(TargetSequenceLength, out var n) ? (long?)Convert.ToInt64(n) : null;
        if (target is not null && negativeTarget is not null && target != negativeTarget)
            return Left<OmniError, (ModelInputs, ModelInputs?, Func<Tensor, Either<OmniError, Tensor>>)>(OmniError.Invalid(
                $"Positive and negative I2I inputs have different target sequence lengths: {target} and {negativeTarget}."));
        Either<OmniError, Tensor> Cut(Tensor prediction)
        {
            if (target is not { } t) return prediction;
            if (prediction.shape[1] < t)
                return Left<OmniError, Tensor>(OmniError.Invalid(
                    $"forward: model output seq_len ({prediction.shape[1]}) < target_seq_len ({t}). The condition concat may have been dropped or the model truncated the output."));
            return prediction.narrow(1, 0, t);
        }
        return (positive.Without(TargetSequenceLength), negative?.Without(TargetSequenceLength), (Func<Tensor, Either<OmniError, Tensor>>)Cut);
    }

    private static Either<OmniError, (ModelInputs, ModelInputs?)> Invalid(string message) =>
        Left<OmniError, (ModelInputs, ModelInputs?)>(OmniError.Invalid(message));
}
