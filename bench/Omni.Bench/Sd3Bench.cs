using System.Diagnostics;
using Omni.Effects.Random;
using Omni.Models.Sd3;
using static TorchSharp.torch;

namespace Omni.Bench;

/// <summary>
/// Forward and forward+backward throughput of <see cref="Sd3Transformer2DModel"/> at a realistic small width
/// (12 layers, width 768, 256 image tokens, 77 text tokens, batch 8) in float32 on the CPU, reported as achieved
/// GFLOP/s beside a 4096³ float32 matmul measured in the same run.
/// </summary>
internal static class Sd3Bench
{
    private const int Batch = 8, Layers = 12, Heads = 12, HeadDim = 64, Latent = 32, PatchSize = 2, TextTokens = 77;

    public static void Run()
    {
        Omni.Effects.Devices.CpuMemory.RetainFreedMemory();
        var config = new Sd3Config
        {
            NumLayers = Layers, NumAttentionHeads = Heads, AttentionHeadDim = HeadDim, CaptionProjectionDim = Heads * HeadDim,
            JointAttentionDim = Heads * HeadDim, PooledProjectionDim = Heads * HeadDim, PatchSize = PatchSize, SampleSize = Latent,
        };
        using var model = new Sd3Transformer2DModel(config);
        var noise = NoiseSource.Seeded(0);
        using var x = noise.Draw([Batch, config.InChannels, Latent, Latent]);
        using var text = noise.Draw([Batch, TextTokens, config.JointAttentionDim]);
        using var pooled = noise.Draw([Batch, config.PooledProjectionDim]);
        using var t = full(Batch, 500f);

        using var left = noise.Draw([4096, 4096]);
        using var right = noise.Draw([4096, 4096]);
        var matmulSeconds = Time(5, () => { using var product = left.matmul(right); });
        var matmulGflops = 2.0 * 4096 * 4096 * 4096 / matmulSeconds / 1e9;

        var flops = ForwardFlops(config);
        var forward = Time(2, () => { using var scope = NewDisposeScope(); using var g = no_grad(); model.forward(x, text, pooled, t); });
        var backward = Time(2, () =>
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            model.forward(x, text, pooled, t).pow(2).mean().backward();
        });

        Console.WriteLine($"torch threads: {get_num_threads()}; SD3 {Layers} layers, width {Heads * HeadDim}, {Latent / PatchSize * (Latent / PatchSize)} image + {TextTokens} text tokens, batch {Batch}, float32");
        Console.WriteLine($"{"what",-22} {"seconds",9} {"GFLOP/s",9} {"x matmul",9}");
        Console.WriteLine($"{"matmul 4096^3",-22} {matmulSeconds,9:F3} {matmulGflops,9:F1} {1.0,9:F2}");
        Console.WriteLine($"{"forward",-22} {forward,9:F3} {flops / forward / 1e9,9:F1} {flops / forward / 1e9 / matmulGflops,9:F2}");
        Console.WriteLine($"{"forward+backward",-22} {backward,9:F3} {3 * flops / backward / 1e9,9:F1} {3 * flops / backward / 1e9 / matmulGflops,9:F2}");
    }

    // Matmul FLOPs of one forward pass: per block, projections and MLPs 12·(N+L)·D² and attention 2·(N+L)²·D, ×2 per
    // multiply-add; plus patch embedding, context embedding and the output projection. Backward counts as 2× forward.
    private static double ForwardFlops(Sd3Config c)
    {
        double d = c.InnerDim, n = Latent / PatchSize * (Latent / PatchSize), l = TextTokens, tokens = n + l;
        var block = 2 * (12 * tokens * d * d + 2 * tokens * tokens * d);
        var edges = 2 * (n * c.InChannels * PatchSize * PatchSize * d + l * c.JointAttentionDim * d + n * d * PatchSize * PatchSize * c.OutputChannels);
        return Batch * (c.NumLayers * block + edges);
    }

    private static double Time(int repetitions, Action run)
    {
        run();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < repetitions; i++) run();
        return clock.Elapsed.TotalSeconds / repetitions;
    }
}
