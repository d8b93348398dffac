using System.Collections.Immutable;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Models.Adapters;
using Omni.Models.QwenImage;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Adapters;

/// <summary>
/// What each built-in adapter hands the model and how it combines the answers, checked on a recording stand-in with
/// round numbers: the reference pipelines' conventions (timestep scaling, masks, pooled projections, guidance formulas)
/// stated as values, not re-derived from the adapter's code.
/// </summary>
public sealed class AdapterArgumentTests
{
    // Answers 3 for a prompt of ones and 1 for a prompt of zeros (the negative), whatever the other arguments.
    private static RecordingDenoiser PositiveThreeNegativeOne(long[] shape) =>
        new(inputs => full(shape, inputs.Tensor("encoder_hidden_states").abs().sum().item<float>() > 0 ? 3f : 1f));

    private static DiffusionModelConfig Config(string architecture, double? guidance = null, double trueCfg = 1.0) =>
        new() { Path = "unused", Architecture = architecture, Pipeline = new PipelineSettings { GuidanceScale = guidance, TrueCfgScale = trueCfg, Height = 64, Width = 64 } };

    private static (ModelInputs Positive, ModelInputs? Negative) Prepare(TrainingAdapter adapter, IDenoiser module, DiffusionModelConfig config, ModelInputRequest request) =>
        AdapterCalls.PrepareModelInputs(adapter, module, config, request).OrThrow();

    private static string Refusal(TrainingAdapter adapter, DiffusionModelConfig config, ModelInputRequest request) =>
        AdapterCalls.PrepareModelInputs(adapter, new RecordingDenoiser(_ => zeros(1)), config, request).ErrorOf().IfNone(() => throw new Exception("expected a refusal")).Message;

    [Fact]
    public void Sd3_passes_raw_timesteps_the_prompt_and_the_pooled_projection()
    {
        using var scope = NewDisposeScope();
        var pooled = ones(2, 64);
        var request = new ModelInputRequest(zeros(2, 4, 8, 8), full(2, 750f), null, ones(2, 7, 32)) { Extras = ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, pooled) };
        var (positive, negative) = Prepare(Sd3FlowGrpo.Training, new RecordingDenoiser(_ => zeros(1)), Config("StableDiffusion3Pipeline"), request);
        Assert.Equal(750f, positive.Tensor("timestep")[0].item<float>());
        Assert.Same(pooled, positive.Tensor("pooled_projections"));
        Assert.Same(request.PromptEmbeds, positive.Tensor("encoder_hidden_states"));
        Assert.Null(negative);
    }

    /// <summary>The model answers 3 for the prompt and 1 for the negative prompt; the expected values are the reference formulas on those numbers.</summary>
    public static TheoryData<string, double, double, int> Guidance => new()
    {
        { "StableDiffusion3Pipeline", 4.5, 10.0, 2 },   // 1 + 4.5 × (3 − 1)
        { "StableDiffusion3Pipeline", 1.0, 3.0, 1 },    // no guidance at scale 1: the positive pass alone
        { "QwenImagePipeline", 4.0, 3.0, 2 },           // 1 + 4 × (3 − 1) = 9, rescaled to the positive prediction's norm: 3
        { "QwenImagePipeline", 1.0, 3.0, 1 },           // true CFG only above 1
        { "WanPipeline", 5.0, 11.0, 2 },                // 1 + 5 × (3 − 1), no rescaling
        { "WanPipeline", 1.0, 3.0, 1 },
    };

    [Theory, MemberData(nameof(Guidance))]
    public void Guidance_combines_the_two_predictions_as_the_reference_pipeline_does(string architecture, double scale, double expected, int calls)
    {
        using var scope = NewDisposeScope();
        var (adapter, latents, prompt, config, extras) = architecture switch
        {
            "StableDiffusion3Pipeline" => (Sd3FlowGrpo.Training, zeros(2, 4, 8, 8), new long[] { 2, 7, 32 }, Config(architecture, guidance: scale),
                ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, ones(2, 64)).Add(Sd3FlowGrpo.NegativePooled, zeros(2, 64))),
            "QwenImagePipeline" => (QwenImageFlowGrpo.Training, zeros(2, 16, 64), [2, 3, 16], Config(architecture, trueCfg: scale), ImmutableDictionary<string, Tensor>.Empty),
            _ => (WanDanceGrpo.Training, zeros([1, 4, 2, 8, 8]), [1, 3, 16], Config(architecture, trueCfg: scale), ImmutableDictionary<string, Tensor>.Empty),
        };
        var module = PositiveThreeNegativeOne(latents.shape);
        var request = new ModelInputRequest(latents, full(latents.shape[0], 500f), null, ones(prompt), NegativePromptEmbeds: zeros(prompt)) { Extras = extras };
        var (positive, negative) = Prepare(adapter, module, config, request);
        var prediction = AdapterCalls.Forward(adapter, module, config, positive, negative).OrThrow();
        Assert.Equal(expected, prediction.mean().item<float>(), 5);
        Assert.Equal(calls, module.Calls.Count);
    }

    [Fact]
    public void Sd3_refuses_a_micro_batch_without_the_embeddings_it_needs()
    {
        using var scope = NewDisposeScope();
        var bare = new ModelInputRequest(zeros(1, 4, 8, 8), full(1, 750f), null, ones(1, 7, 32));
        Assert.Contains("SD3 FlowGRPO requires `pooled_prompt_embeds` from rollout.", Refusal(Sd3FlowGrpo.Training, Config("StableDiffusion3Pipeline"), bare));
        var pooled = bare with { Extras = ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, ones(1, 64)) };
        Assert.Contains("negative prompt embeds", Refusal(Sd3FlowGrpo.Training, Config("StableDiffusion3Pipeline", 4.5), pooled));
        Assert.Contains("negative_pooled_prompt_embeds", Refusal(Sd3FlowGrpo.Training, Config("StableDiffusion3Pipeline", 4.5), pooled with { NegativePromptEmbeds = zeros(1, 7, 32) }));
    }

    [Fact]
    public void Qwen_image_gets_timesteps_in_thousandths_the_text_mask_and_the_image_shapes()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new long[] { 1, 1, 0, 1, 1, 1 }).reshape(2, 3);
        var request = new ModelInputRequest(zeros(2, 16, 64), full(2, 500f), null, ones(2, 3, 16), mask);
        var (positive, negative) = Prepare(QwenImageFlowGrpo.Training, new RecordingDenoiser(_ => zeros(1)), Config("QwenImagePipeline"), request);
        Assert.Equal(0.5f, positive.Tensor("timestep")[0].item<float>());
        Assert.Same(mask, positive.Tensor("encoder_hidden_states_mask"));
        // 64 px at a VAE factor of 8 is an 8×8 latent, packed into 4×4 patches: one frame of (1, 4, 4) per sample.
        var shapes = positive.Get<IReadOnlyList<IReadOnlyList<(int, int, int)>>>("img_shapes")!;
        Assert.Equal(2, shapes.Count);
        Assert.All(shapes, s => Assert.Equal([(1, 4, 4)], s));
        Assert.Null(negative);
    }

    [Fact]
    public void Wan_gets_integer_timesteps_and_prompt_embeddings_zeroed_where_the_mask_is_zero()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new long[] { 1, 1, 0 }).reshape(1, 3);
        var request = new ModelInputRequest(zeros([1, 4, 2, 8, 8]), full(1, 937.5f), null, full(1, 3, 16, 2f), mask);
        var (positive, negative) = Prepare(WanDanceGrpo.Training, new RecordingDenoiser(_ => zeros(1)), Config("WanPipeline"), request);
        Assert.Equal(ScalarType.Int64, positive.Tensor("timestep").dtype);
        Assert.Equal(937L, positive.Tensor("timestep")[0].item<long>());
        var text = positive.Tensor("encoder_hidden_states");
        Assert.Equal([2f, 2f, 0f], text[0].sum(1).div(16).data<float>().ToArray());
        Assert.False(positive.Contains("encoder_hidden_states_mask"), "the Wan transformer takes no mask");
        Assert.Null(negative);
    }

    /// <summary>VeRL-Omni's Wan 2.2 DanceGRPO recipe for 10 steps: <c>sd3_time_shift(5, linspace(1, 0, 11))[:10]</c>, as its documentation tabulates it.</summary>
    [Fact]
    public void Wan_sigmas_follow_the_reference_recipe()
    {
        var expected = new[] { 1.0, 0.978261, 0.952381, 0.921053, 0.882353, 0.833333, 0.769231, 0.681818, 0.555556, 0.357143 };
        var actual = WanDanceGrpo.Sigmas(10).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6, $"σ[{i}] = {actual[i]}, reference {expected[i]}");
    }

    [Fact]
    public void A_rollout_refuses_a_module_it_cannot_shape_latents_for()
    {
        using var scope = NewDisposeScope();
        var config = Config("StableDiffusion3Pipeline") with { Pipeline = new PipelineSettings { NumInferenceSteps = 2, Height = 64, Width = 64 } };
        var schedule = Sd3FlowGrpo.Training.Schedule(new Omni.Algebra.Schedules.SchedulerConfig(), config).OrThrow();
        var noise = Omni.Effects.Random.NoiseSource.Seeded(1);
        var request = new Omni.Algebra.Rollouts.RolloutRequest(ones(1, 7, 32), noise, noise);
        foreach (var rollout in new[] { Sd3FlowGrpo.Rollout, QwenImageFlowGrpo.Rollout, WanDanceGrpo.Rollout })
        {
            var error = rollout.Run(new Omni.Algebra.Rollouts.RolloutContext(new RecordingDenoiser(_ => zeros(1)), schedule, config, request))
                .ErrorOf().IfNone(() => throw new Exception($"{rollout.Name} accepted an unknown module"));
            Assert.Contains("RecordingDenoiser", error.Message);
            Assert.Contains("Transformer", error.Message);
        }
        Assert.Contains("QwenImageTransformer2DModel", QwenImageFlowGrpo.Rollout.Run(new Omni.Algebra.Rollouts.RolloutContext(
            new RecordingDenoiser(_ => zeros(1)), schedule, config, request)).ErrorOf().Map(e => e.Message).IfNone(""));
    }
}
