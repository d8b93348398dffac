using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Tests.Behaviour.Support;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>The image-to-image hooks: concat-and-crop injection, its checks, and the dispatcher's rules (the reference's DiffusionI2IModelBase rules).</summary>
public sealed class ImageConditioningTests
{
    private static ImmutableDictionary<string, Tensor> Condition(Tensor latents) =>
        ImmutableDictionary<string, Tensor>.Empty.Add(ImageConditioning.ImageLatents, latents);

    private static string Error(Either<OmniError, (ModelInputs, ModelInputs?)> result) =>
        result.ErrorOf().IfNone(() => throw new Exception("expected an error")).Message;

    [Fact]
    public void An_empty_condition_returns_the_same_inputs()
    {
        var positive = ModelInputs.Empty.With("hidden_states", zeros(1, 2, 4));
        var (p, n) = ImageConditioning.ConcatAndCrop(positive, null, ImmutableDictionary<string, Tensor>.Empty).OrThrow();
        Assert.Same(positive, p);
        Assert.Null(n);
    }

    [Fact]
    public void Condition_latents_are_appended_to_both_argument_sets_and_the_target_length_recorded()
    {
        using var scope = NewDisposeScope();
        var positive = ModelInputs.Empty.With("hidden_states", zeros(1, 2, 4));
        var negative = ModelInputs.Empty.With("hidden_states", ones(1, 2, 4));
        var (p, n) = ImageConditioning.ConcatAndCrop(positive, negative, Condition(full(1, 3, 4, 5f))).OrThrow();
        Assert.Equal(new long[] { 1, 5, 4 }, p.Tensor("hidden_states").shape);
        Assert.Equal(new long[] { 1, 5, 4 }, n!.Tensor("hidden_states").shape);
        Assert.Equal(2L, p.Get<long>(ImageConditioning.TargetSequenceLength));
        Assert.Equal(2L, n.Get<long>(ImageConditioning.TargetSequenceLength));
        Assert.Equal(5f, p.Tensor("hidden_states")[0, 4, 0].item<float>());
    }

    [Fact]
    public void Injection_checks_its_inputs()
    {
        using var scope = NewDisposeScope();
        var positive = ModelInputs.Empty.With("hidden_states", zeros(1, 2, 4));
        Assert.Contains("requires condition['image_latents']",
            Error(ImageConditioning.ConcatAndCrop(positive, null, ImmutableDictionary<string, Tensor>.Empty.Add("other", zeros(1)))));
        Assert.Contains("batch size (2) does not match hidden_states batch size (1)", Error(ImageConditioning.ConcatAndCrop(positive, null, Condition(zeros(2, 3, 4)))));
        Assert.Contains("must be 3-D", Error(ImageConditioning.ConcatAndCrop(positive, null, Condition(zeros(1, 3, 4, 1)))));
        Assert.Contains("reserved", Error(ImageConditioning.ConcatAndCrop(positive.With("image_latents", zeros(1)), null, Condition(zeros(1, 3, 4)))));
    }

    [Fact]
    public void Predictions_are_cropped_to_the_target_tokens_and_the_private_key_stripped()
    {
        using var scope = NewDisposeScope();
        var injected = ModelInputs.Empty.With("hidden_states", zeros(1, 5, 4)).With(ImageConditioning.TargetSequenceLength, 2L);
        var (p, n, crop) = ImageConditioning.Crop(injected, injected).OrThrow();
        Assert.False(p.Contains(ImageConditioning.TargetSequenceLength));
        Assert.False(n!.Contains(ImageConditioning.TargetSequenceLength));
        Assert.Equal(new long[] { 1, 2, 4 }, crop(zeros(1, 5, 4)).OrThrow().shape);
        Assert.Contains("model output seq_len (1) < target_seq_len (2)", crop(zeros(1, 1, 4)).ErrorOf().IfNone(() => throw new Exception()).Message);
        var mismatched = ImageConditioning.Crop(injected, injected.With(ImageConditioning.TargetSequenceLength, 3L));
        Assert.Contains("different target sequence lengths: 2 and 3", mismatched.ErrorOf().IfNone(() => throw new Exception()).Message);
    }

    [Fact]
    public void An_image_conditioned_adapter_must_find_its_condition_in_the_micro_batch()
    {
        using var scope = NewDisposeScope();
        var adapter = TinyAdapter.Training with
        {
            Name = "EditAdapter",
            Conditioning = Some(new ImageConditioning((batch, _, _) =>
                batch.TryGetValue("condition_image_latents", out var c) ? Some(Condition(c)) : None)),
        };
        var config = new DiffusionModelConfig { Path = "unused", Architecture = "Edit" };
        using var module = new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth);
        var request = new ModelInputRequest(zeros(1, 6, 4), full(1, 500f), null, zeros(1, 2, 3))
        {
            Extras = ImmutableDictionary<string, Tensor>.Empty.Add("other", ones(1)),
        };
        var missing = AdapterCalls.PrepareModelInputs(adapter, module, config, request).ErrorOf().IfNone(() => throw new Exception()).Message;
        Assert.Contains("EditAdapter.prepare_condition returned None. Available micro-batch keys: [other]", missing);

        var withCondition = request with { Extras = ImmutableDictionary<string, Tensor>.Empty.Add("condition_image_latents", ones(1, 3, 4)) };
        var (positive, negative) = AdapterCalls.PrepareModelInputs(adapter, module, config, withCondition).OrThrow();
        Assert.Equal(new long[] { 1, 9, 4 }, positive.Tensor("hidden_states").shape);
        var prediction = AdapterCalls.Forward(adapter, module, config, positive, negative).OrThrow();
        Assert.Equal(new long[] { 1, 6, 4 }, prediction.shape);
    }

    [Fact]
    public void Text_to_image_adapters_are_left_untouched()
    {
        using var scope = NewDisposeScope();
        var config = new DiffusionModelConfig { Path = "unused", Architecture = "Tiny" };
        using var module = new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth);
        var request = new ModelInputRequest(zeros(1, 6, 4), full(1, 500f), null, zeros(1, 2, 3));
        var (positive, _) = AdapterCalls.PrepareModelInputs(TinyAdapter.Training, module, config, request).OrThrow();
        Assert.Equal(new long[] { 1, 6, 4 }, positive.Tensor("hidden_states").shape);
        Assert.False(positive.Contains(ImageConditioning.TargetSequenceLength));
    }
}
