using Omni.Algebra.Config;
using Omni.Effects.Random;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>A small SD3 transformer (dual attention, RMS qk-norm, a pre-only last block) with seeded weights and inputs.</summary>
internal static class ShardingFixture
{
    public static Sd3Transformer2DModel Model(bool lora = false)
    {
        var model = new Sd3Transformer2DModel(new Sd3Config
        {
            NumLayers = 3, NumAttentionHeads = 2, AttentionHeadDim = 8, CaptionProjectionDim = 16, JointAttentionDim = 12,
            PooledProjectionDim = 10, InChannels = 4, OutChannels = 4, PatchSize = 1, SampleSize = 8, PosEmbedMaxSize = 16,
            DualAttentionLayers = [0], QkNorm = "rms_norm",
        });
        var source = NoiseSource.Seeded(11);
        using (no_grad()) foreach (var p in model.parameters()) p.copy_(source.Draw(p.shape) * 0.2);
        if (lora)
        {
            LoraAdapters.Attach(model, new LoraSettings { Rank = 2, TargetModules = [.. LoraTargets.FlowGrpo] }, Generators.Seeded(1));
            var b = NoiseSource.Seeded(2);
            using (no_grad()) foreach (var (_, t) in LoraAdapters.State(model).Where(p => p.Key.EndsWith("lora_B.weight"))) t.copy_(b.Draw(t.shape));
            LoraAdapters.TrainOnlyAdapters(model);
        }
        model.train();
        return model;
    }

    /// <summary>Inputs of <paramref name="batch"/> samples starting at sample <paramref name="first"/> of one seeded global batch.</summary>
    public static (Tensor Hidden, Tensor Context, Tensor Pooled, Tensor Timestep) Inputs(int first, int batch)
    {
        var hidden = new List<Tensor>();
        var context = new List<Tensor>();
        var pooled = new List<Tensor>();
        for (var s = first; s < first + batch; s++)
        {
            var source = NoiseSource.Seeded(100 + s);
            hidden.Add(source.Draw([1, 4, 8, 8]));
            context.Add(source.Draw([1, 5, 12]));
            pooled.Add(source.Draw([1, 10]));
        }
        var timestep = tensor(Enumerable.Range(first, batch).Select(s => 100f + 83f * s % 900).ToArray());
        return (cat(hidden), cat(context), cat(pooled), timestep);
    }

    /// <summary>Mean squared output over the batch: the per-sample mean, so halves of a batch average to the whole.</summary>
    public static Tensor Loss(Sd3Transformer2DModel model, (Tensor Hidden, Tensor Context, Tensor Pooled, Tensor Timestep) x) =>
        model.forward(x.Hidden, x.Context, x.Pooled, x.Timestep).pow(2).mean();
}
