using System.Collections;
using System.Collections.Immutable;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Effects.Random;
using Omni.Models;
using Omni.Models.Adapters;
using Omni.Shapes.Pipeline;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>
/// <c>prepare_model_inputs</c> takes either a whole trajectory and a step (reverse-trajectory training) or an already selected
/// latent with one timestep per row (rollouts, forward-process objectives): for every built-in adapter and the shapes adapter,
/// both shapes give the same model arguments. Plus the DPO adapters' own rules (the reference's Qwen-Image and SD3 DPO adapters).
/// </summary>
public sealed class ModelInputShapesTests
{
    private static readonly AdapterRegistries Registries = ShapesAdapter.Register(BuiltInAdapters.Registries);

    public static TheoryData<string, string> Keys()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in Registries.Training.Keys) data.Add(key.Architecture, key.Algorithm);
        return data;
    }

    private static DiffusionModelConfig Config(string architecture, string algorithm, double? guidance = null, double trueCfg = 1.0) => new()
    {
        Path = "unused", Architecture = architecture, Algorithm = algorithm, VaeScaleFactor = 8,
        Pipeline = new PipelineSettings { Height = 64, Width = 64, NumInferenceSteps = 4, GuidanceScale = guidance, TrueCfgScale = trueCfg },
    };

    private static (ModelInputRequest Trajectory, Func<int, ModelInputRequest> Selected) Requests(bool negatives)
    {
        var noise = NoiseSource.Seeded(3);
        var latents = noise.Draw([2, 4, 3, 8, 8]);
        var timesteps = tensor(new float[] { 1000, 750, 500, 980, 700, 450 }).reshape(2, 3);
        var prompt = noise.Draw([2, 5, 6]);
        var mask = ones(2, 5);
        var extras = ImmutableDictionary<string, Tensor>.Empty
            .Add(Sd3FlowGrpo.Pooled, noise.Draw([2, 4])).Add(Sd3FlowGrpo.NegativePooled, noise.Draw([2, 4]));
        var negative = negatives ? noise.Draw([2, 5, 6]) : null;
        var negativeMask = negatives ? ones(2, 5) : null;
        var trajectory = new ModelInputRequest(latents, timesteps, null, prompt, mask, negative, negativeMask) { Extras = extras };
        return (trajectory, k => trajectory with { Latents = latents.select(1, k), Timesteps = timesteps.select(1, k), Step = null });
    }

    [Theory, MemberData(nameof(Keys))]
    public void A_trajectory_step_and_the_selected_latent_give_the_same_arguments(string architecture, string algorithm)
    {
        using var scope = NewDisposeScope();
        var adapter = Registries.Training.Get(architecture, algorithm).OrThrow();
        foreach (var (negatives, guidance, trueCfg) in new[] { (false, (double?)null, 1.0), (true, 4.0, 4.0) })
        {
            var config = Config(architecture, algorithm, guidance, trueCfg);
            var (trajectory, selected) = Requests(negatives);
            for (var k = 0; k < 3; k++)
            {
                var fromTrajectory = adapter.PrepareModelInputs(null!, config, trajectory with { Step = k }).OrThrow();
                var fromSelected = adapter.PrepareModelInputs(null!, config, selected(k)).OrThrow();
                AssertSame(fromTrajectory.Positive, fromSelected.Positive, $"{architecture}/{algorithm} step {k} positive");
                Assert.Equal(fromTrajectory.Negative is null, fromSelected.Negative is null);
                if (fromTrajectory.Negative is { } n) AssertSame(n, fromSelected.Negative!, $"{architecture}/{algorithm} step {k} negative");
                Assert.True(fromSelected.Positive.Tensor("hidden_states").Equals(trajectory.Latents.select(1, k)),
                    $"{architecture}/{algorithm}: hidden_states is not latent {k}");
            }
        }
    }

    private static void AssertSame(ModelInputs a, ModelInputs b, string what)
    {
        Assert.Equal(a.Values.Keys.Order(), b.Values.Keys.Order());
        foreach (var (key, value) in a.Values) Assert.True(Same(value, b.Values[key]), $"{what}: argument '{key}' differs");
    }

    private static bool Same(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (Tensor x, Tensor y) => x.dtype == y.dtype && x.Equals(y),
        (IDictionary x, IDictionary y) => x.Count == y.Count && x.Keys.Cast<object>().All(k => y.Contains(k) && Same(x[k], y[k])),
        (IEnumerable x, IEnumerable y) when a is not string => x.Cast<object?>().Count() == y.Cast<object?>().Count()
                                                               && x.Cast<object?>().Zip(y.Cast<object?>(), Same).All(same => same),
        _ => Equals(a, b),
    };

    [Fact]
    public void The_reference_pairs_and_the_shapes_model_are_registered_for_training_and_rollout()
    {
        foreach (var key in new[] { Sd3Dpo.Key, QwenImageDpo.Key, QwenImageDiffusionNft.Key })
        {
            Assert.True(Registries.Training.Peek(key).IsSome, key.ToString());
            Assert.True(Registries.Rollout.Peek(key).IsSome, key.ToString());
        }
        foreach (var algorithm in new[] { "flow_grpo", "dance_grpo", "mix_grpo", "grpo_guard", "flow_dppo", "dpo", "diffusion_nft", "distill_kl", "distill_fm_mse" })
        {
            var key = new AdapterKey(ShapesPipeline.ClassName, algorithm);
            Assert.True(Registries.Training.Peek(key).IsSome && Registries.Rollout.Peek(key).IsSome, key.ToString());
        }
    }

    [Fact]
    public void Qwen_dpo_needs_the_mask_feeds_t_over_1000_and_builds_image_shapes()
    {
        using var scope = NewDisposeScope();
        var (trajectory, selected) = Requests(negatives: false);
        var config = Config("QwenImagePipeline", "dpo") with { Pipeline = new PipelineSettings { Height = 512, Width = 512 } };
        var inputs = QwenImageDpo.Training.PrepareModelInputs(null!, config, selected(0)).OrThrow();
        Assert.True(inputs.Positive.Tensor("timestep").Equals(tensor(new float[] { 1f, 0.98f })));
        var shapes = inputs.Positive.Get<IReadOnlyList<IReadOnlyList<(int, int, int)>>>("img_shapes")!;
        Assert.Equal(2, shapes.Count);
        Assert.All(shapes, s => Assert.Equal((1, 32, 32), Assert.Single(s)));
        Assert.Null(inputs.Negative);
        var noMask = QwenImageDpo.Training.PrepareModelInputs(null!, config, selected(0) with { PromptEmbedsMask = null }).ErrorOf().IfNone(() => throw new Exception());
        Assert.Equal("prompt_embeds_mask is required for Qwen-Image DPO training.", noMask.Message);
        var cfg = config with { Pipeline = config.Pipeline with { TrueCfgScale = 4.0 } };
        var noNegative = QwenImageDpo.Training.PrepareModelInputs(null!, cfg, selected(0)).ErrorOf().IfNone(() => throw new Exception());
        Assert.Equal("Qwen-Image DPO True-CFG requires negative prompt inputs.", noNegative.Message);
        _ = trajectory;
    }

    [Fact]
    public void Sd3_dpo_needs_the_mask_and_pooled_embeddings_and_negatives_for_cfg()
    {
        using var scope = NewDisposeScope();
        var (_, selected) = Requests(negatives: false);
        var config = Config("StableDiffusion3Pipeline", "dpo");
        var inputs = Sd3Dpo.Training.PrepareModelInputs(null!, config, selected(1)).OrThrow();
        Assert.True(inputs.Positive.Tensor("timestep").Equals(tensor(new float[] { 750, 700 })), "SD3 takes the raw timestep");
        var kwargs = inputs.Positive.Get<IReadOnlyDictionary<string, object?>>("joint_attention_kwargs")!;
        Assert.Same(selected(1).PromptEmbedsMask, kwargs["attention_mask"]);
        Assert.Equal("prompt_embeds_mask is required for DPO training.",
            Sd3Dpo.Training.PrepareModelInputs(null!, config, selected(1) with { PromptEmbedsMask = null }).ErrorOf().IfNone(() => throw new Exception()).Message);
        Assert.Equal("SD3 DPO training requires `pooled_projections` in the micro batch.",
            Sd3Dpo.Training.PrepareModelInputs(null!, config, selected(1) with { Extras = ImmutableDictionary<string, Tensor>.Empty }).ErrorOf().IfNone(() => throw new Exception()).Message);
        Assert.Equal("SD3 DPO CFG requires negative prompt inputs when guidance_scale > 1.",
            Sd3Dpo.Training.PrepareModelInputs(null!, Config("StableDiffusion3Pipeline", "dpo", guidance: 4.5), selected(1)).ErrorOf().IfNone(() => throw new Exception()).Message);
    }
}
