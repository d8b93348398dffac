using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Effects.Random;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using Omni.Tests.Behaviour.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>
/// Gradient checkpointing recomputes each block's activations in the backward pass — the blocks' forward code runs again
/// there — and must not change any gradient. Checked on SD3 (with dual attention and
/// RMS qk-norm), and on the tiny SD3, Qwen-Image and Wan transformers of the vendored fixtures.
/// </summary>
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

    private static Tensor Sd3Loss(Sd3Transformer2DModel model)
    {
        var source = NoiseSource.Seeded(21);
        return model.forward(source.Draw([2, 4, 8, 8]), source.Draw([2, 5, 12]), source.Draw([2, 10]), tensor(new[] { 700f, 300f })).pow(2).mean();
    }

    private static void CheckpointingRecomputesWithTheSameGradients(
        nn.Module model, Action<bool> setCheckpointing, Func<Tensor> loss, Func<string, bool>? keep = null)
    {
        keep ??= _ => true;
        var ordinary = BackwardWith(model, setCheckpointing, false, loss, keep);
        var checkpointed = BackwardWith(model, setCheckpointing, true, loss, keep);
        // Without checkpointing the backward pass runs in libtorch and creates almost no managed tensors; with it, the blocks'
        // forward code runs again inside the backward pass, creating about as many as the forward pass did.
        Assert.True(ordinary.ForwardTensors > 20, $"the forward pass created only {ordinary.ForwardTensors} tensors");
        Assert.True(checkpointed.BackwardTensors >= ordinary.BackwardTensors + ordinary.ForwardTensors / 2,
            $"the checkpointed backward pass created {checkpointed.BackwardTensors} tensors (ordinary: {ordinary.BackwardTensors}, forward: "
            + $"{ordinary.ForwardTensors}): it did not recompute the blocks");
        Assert.NotEmpty(ordinary.Gradients);
        Assert.Equal(ordinary.Gradients.Keys.Order(), checkpointed.Gradients.Keys.Order());
        foreach (var (name, grad) in ordinary.Gradients)
            Assert.True((checkpointed.Gradients[name] - grad).abs().max().item<float>() <= 1e-6f * (1 + grad.abs().max().item<float>()), name);
    }

    private static long Created()
    {
        var statistics = DisposeScopeManager.Statistics.TensorStatistics;
        return statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
    }

    /// <summary>
    /// One training step with checkpointing on or off: the gradients of the parameters <paramref name="keep"/> selects, and
    /// how many tensors the forward and the backward pass created on this thread.
    /// </summary>
    private static (Dictionary<string, Tensor> Gradients, long ForwardTensors, long BackwardTensors) BackwardWith(
        nn.Module model, Action<bool> setCheckpointing, bool on, Func<Tensor> loss, Func<string, bool> keep)
    {
        setCheckpointing(on);
        model.zero_grad();
        var start = Created();
        var value = loss();
        var forward = Created() - start;
        value.backward();
        var backward = Created() - start - forward;
        return (model.named_parameters().Where(p => p.parameter.grad is not null && keep(p.name)).ToDictionary(p => p.name, p => p.parameter.grad!.clone()),
                forward, backward);
    }

    [Fact]
    public void Checkpointing_recomputes_blocks_and_leaves_every_gradient_unchanged()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        CheckpointingRecomputesWithTheSameGradients(model, on => model.GradientCheckpointing = on, () => Sd3Loss(model));
    }

    [Fact]
    public void Checkpointing_still_trains_adapters_when_only_they_require_grad()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        LoraAdapters.Attach(model, new LoraSettings { Rank = 2, TargetModules = [.. LoraTargets.FlowGrpo] }, Generators.Seeded(1));
        using (no_grad()) foreach (var (_, t) in LoraAdapters.State(model).Where(p => p.Key.EndsWith("lora_B.weight"))) t.copy_(NoiseSource.Seeded(2).Draw(t.shape));
        LoraAdapters.TrainOnlyAdapters(model);
        CheckpointingRecomputesWithTheSameGradients(model, on => model.GradientCheckpointing = on, () => Sd3Loss(model), name => name.Contains("lora_"));
    }

    [Theory]
    [InlineData("sd3_tiny")]
    [InlineData("qwenimage_tiny")]
    [InlineData("wan_tiny")]
    public void Every_architecture_recomputes_its_blocks_with_the_same_gradients(string fixture)
    {
        using var scope = NewDisposeScope();
        var folder = VendoredFixtures.Model(fixture);
        var json = File.ReadAllText(Path.Combine(folder, "config.json"));
        var className = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("_class_name").GetString()!;
        using var module = Omni.Models.Loading.TransformerLoader.Builders[className](json);
        Omni.Models.Loading.WeightLoader.Load(module, Path.Combine(folder, "diffusion_pytorch_model.safetensors"));
        module.train();
        var inputs = ModelInputs.Empty;
        using (var io = Omni.Effects.Safetensors.SafetensorsFile.Open(Path.Combine(folder, "io.safetensors")))
            foreach (var key in io.Entries.Keys.Where(k => k.StartsWith("input/", StringComparison.Ordinal)))
                inputs = inputs.With(key["input/".Length..], io.Read(key));
        if (module is Omni.Models.QwenImage.QwenImageTransformer2DModel)
            inputs = inputs.With("img_shapes", Omni.Models.QwenImage.QwenImageTransformer2DModel.ImageShapes(64, 64, (int)inputs.Tensor("hidden_states").shape[0]));
        Action<bool> set = module switch
        {
            Sd3Transformer2DModel m => on => m.GradientCheckpointing = on,
            Omni.Models.QwenImage.QwenImageTransformer2DModel m => on => m.GradientCheckpointing = on,
            Omni.Models.Wan.WanTransformer3DModel m => on => m.GradientCheckpointing = on,
            _ => throw new NotSupportedException(className),
        };
        CheckpointingRecomputesWithTheSameGradients(module, set, () => ((IDenoiser)module).Forward(inputs).pow(2).mean());
    }
}
