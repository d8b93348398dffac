using Omni.Algebra.Config;
using Omni.Effects.Random;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>Gradient checkpointing recomputes activations in the backward pass and must not change any gradient.</summary>
public sealed class GradientCheckpointTests
{
    private static Sd3Transformer2DModel Model()
    {
        var model = new Sd3Transformer2DModel(new Sd3Config
        {
            NumLayers = 3, NumAttentionHeads = 2, AttentionHeadDim = 8, CaptionProjectionDim = 16, JointAttentionDim = 12,
            PooledProjectionDim = 10, InChannels = 4, OutChannels = 4, PatchSize = 1, SampleSize = 8, PosEmbedMaxSize = 16,
            DualAttentionLayers = [0], QkNorm = "rms_norm",
        });
        var source = NoiseSource.Seeded(11);
        using (no_grad()) foreach (var p in model.parameters()) p.copy_(source.Draw(p.shape) * 0.2);
        model.train();
        return model;
    }

    private static Dictionary<string, Tensor> Gradients(Sd3Transformer2DModel model, bool checkpointing, bool loraOnly)
    {
        model.GradientCheckpointing = checkpointing;
        model.zero_grad();
        var source = NoiseSource.Seeded(21);
        var loss = model.forward(source.Draw([2, 4, 8, 8]), source.Draw([2, 5, 12]), source.Draw([2, 10]), tensor(new[] { 700f, 300f })).pow(2).mean();
        loss.backward();
        return model.named_parameters().Where(p => p.parameter.grad is not null && (!loraOnly || p.name.Contains("lora_")))
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Fact]
    public void Checkpointed_gradients_equal_the_ordinary_ones()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var ordinary = Gradients(model, checkpointing: false, loraOnly: false);
        var checkpointed = Gradients(model, checkpointing: true, loraOnly: false);
        Assert.Equal(ordinary.Keys.Order(), checkpointed.Keys.Order());
        Assert.True(ordinary.Count > 50);
        foreach (var (name, grad) in ordinary)
            Assert.True((checkpointed[name] - grad).abs().max().item<float>() <= 1e-6f * (1 + grad.abs().max().item<float>()), name);
    }

    [Fact]
    public void Checkpointing_still_trains_adapters_when_only_they_require_grad()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        LoraAdapters.Attach(model, new LoraSettings { Rank = 2, TargetModules = [.. LoraTargets.FlowGrpo] }, Generators.Seeded(1));
        using (no_grad()) foreach (var (key, t) in LoraAdapters.State(model).Where(p => p.Key.EndsWith("lora_B.weight"))) t.copy_(NoiseSource.Seeded(2).Draw(t.shape));
        LoraAdapters.TrainOnlyAdapters(model);
        var ordinary = Gradients(model, checkpointing: false, loraOnly: true);
        var checkpointed = Gradients(model, checkpointing: true, loraOnly: true);
        Assert.NotEmpty(ordinary);
        Assert.Equal(ordinary.Keys.Order(), checkpointed.Keys.Order());
        foreach (var (name, grad) in ordinary)
            Assert.True((checkpointed[name] - grad).abs().max().item<float>() <= 1e-6f * (1 + grad.abs().max().item<float>()), name);
    }
}
