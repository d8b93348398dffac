using Omni.Algebra.Config;
using Omni.Effects.Random;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>LoRA on the SD3 transformer: targets, enable/disable, merge/unmerge, training only the adapters, saving and loading.</summary>
public sealed class LoraTests
{
    private static readonly LoraSettings FlowGrpo = new() { Rank = 4, Alpha = 8, TargetModules = [.. LoraTargets.FlowGrpo] };

    /// <summary>A two-layer SD3 transformer with seeded base weights (also used by <see cref="LoraInteropTests"/>).</summary>
    internal static Sd3Transformer2DModel Model(long seed = 1)
    {
        var model = new Sd3Transformer2DModel(new Sd3Config
        {
            NumLayers = 2, NumAttentionHeads = 2, AttentionHeadDim = 8, CaptionProjectionDim = 16, JointAttentionDim = 12,
            PooledProjectionDim = 10, InChannels = 4, OutChannels = 4, PatchSize = 1, SampleSize = 8, PosEmbedMaxSize = 16,
        });
        // Deterministic base weights from an explicit generator, not the global RNG.
        var source = NoiseSource.Seeded(seed);
        using (no_grad()) foreach (var p in model.parameters()) p.copy_(source.Draw(p.shape) * 0.2);
        return model;
    }

    /// <summary>The model's output on fixed seeded inputs.</summary>
    internal static Tensor Run(Sd3Transformer2DModel model)
    {
        var source = NoiseSource.Seeded(99);
        using var g = no_grad();
        return model.forward(source.Draw([2, 4, 8, 8]), source.Draw([2, 5, 12]), source.Draw([2, 10]), tensor(new[] { 900f, 100f }));
    }

    private static void RandomiseUp(Sd3Transformer2DModel model)
    {
        var source = NoiseSource.Seeded(5);
        using var g = no_grad();
        foreach (var (key, t) in LoraAdapters.State(model).Where(p => p.Key.EndsWith("lora_B.weight"))) t.copy_(source.Draw(t.shape) * 0.3);
    }

    [Fact]
    public void FlowGrpo_targets_adapt_the_attention_projections_and_start_as_a_no_op()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var before = Run(model);
        var adapted = LoraAdapters.Attach(model, FlowGrpo, Generators.Seeded(0));
        Assert.Equal(15, adapted.Count);
        Assert.Contains("transformer_blocks.0.attn.to_add_out", adapted);
        Assert.DoesNotContain("transformer_blocks.1.attn.to_add_out", adapted);
        Assert.DoesNotContain(adapted, name => name.Contains("ff."));
        Assert.True(Run(model).equal(before).all().item<bool>(), "B starts at zero, so the output is unchanged");
    }

    [Fact]
    public void Disabling_the_adapters_gives_the_base_model_back_exactly()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var baseOutput = Run(model);
        LoraAdapters.Attach(model, FlowGrpo, Generators.Seeded(0));
        RandomiseUp(model);
        var adapted = Run(model);
        Assert.False(adapted.equal(baseOutput).all().item<bool>());
        var reference = LoraAdapters.WithAdaptersDisabled(model, () => Run(model));
        Assert.True(reference.equal(baseOutput).all().item<bool>());
        Assert.True(Run(model).equal(adapted).all().item<bool>(), "re-enabled adapters give the adapted output again");
    }

    [Fact]
    public void Merging_matches_the_adapted_output_and_unmerging_restores_the_weights()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        LoraAdapters.Attach(model, FlowGrpo, Generators.Seeded(0));
        RandomiseUp(model);
        var adapted = Run(model);
        var weightBefore = model.state_dict()["transformer_blocks.0.attn.to_q.weight"].clone();
        LoraAdapters.Merge(model);
        Assert.True((Run(model) - adapted).abs().max().item<float>() <= 1e-5f);
        Assert.Throws<InvalidOperationException>(() => LoraAdapters.SetEnabled(model, false));
        LoraAdapters.Unmerge(model);
        Assert.True((model.state_dict()["transformer_blocks.0.attn.to_q.weight"] - weightBefore).abs().max().item<float>() <= 1e-6f);
        Assert.True((Run(model) - adapted).abs().max().item<float>() <= 1e-6f);
    }

    [Fact]
    public void Only_the_adapters_train()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        LoraAdapters.Attach(model, FlowGrpo, Generators.Seeded(0));
        RandomiseUp(model);
        var trainable = LoraAdapters.TrainOnlyAdapters(model);
        Assert.Equal(30, trainable.Count);
        var source = NoiseSource.Seeded(3);
        model.forward(source.Draw([1, 4, 8, 8]), source.Draw([1, 5, 12]), source.Draw([1, 10]), tensor(new[] { 500f })).pow(2).mean().backward();
        // The last block's context queries only shape the context output, which that block discards.
        foreach (var (name, tensor) in LoraAdapters.State(model))
        {
            var grad = ((Parameter)tensor).grad;
            Assert.True(grad is not null, name);
            Assert.Equal(!name.StartsWith("transformer_blocks.1.attn.add_q_proj"), grad!.abs().sum().item<float>() > 0);
        }
        Assert.All(model.named_parameters().Where(p => !p.name.Contains("lora_")), p => Assert.True(p.parameter.grad is null, p.name));
    }

    [Fact]
    public void Targets_follow_peft_matching()
    {
        using var model = Model();
        var all = LoraAdapters.Attach(model, new LoraSettings { Rank = 2 }, Generators.Seeded(0));
        Assert.DoesNotContain("proj_out", all);
        Assert.Contains("transformer_blocks.0.ff.net.2", all);
        using var regex = Model();
        Assert.Equal(2, LoraAdapters.Attach(regex, new LoraSettings { Rank = 2, TargetModules = [@"re:transformer_blocks\.\d\.attn\.to_q"] }, Generators.Seeded(0)).Count);
        using var none = Model();
        var error = Assert.Throws<ArgumentException>(() => LoraAdapters.Attach(none, new LoraSettings { Rank = 2, TargetModules = ["qkv"] }, Generators.Seeded(0)));
        Assert.Contains("No linear layer matches the LoRA targets [qkv]", error.Message);
        Assert.Contains("context_embedder", error.Message);
    }
}
