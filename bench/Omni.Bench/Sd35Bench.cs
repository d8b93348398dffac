using System.Diagnostics;
using System.Text.Json;
using Omni.Algebra.Config;
using Omni.Algebra.Devices;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Devices;
using Omni.Effects.Random;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using Omni.Training.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Bench;

/// <summary>The sizes the SD3.5 benchmark runs at.</summary>
/// <param name="Name">medium (diffusers' stable-diffusion-3.5-medium transformer) or small (a CPU-sized stand-in for CI).</param>
/// <param name="Model">The transformer configuration (random weights).</param>
/// <param name="Batch">Images per forward pass.</param>
/// <param name="TextTokens">Text tokens per image.</param>
/// <param name="MatmulSide">Side of the dense bf16 matmul that measures the device's peak.</param>
internal sealed record Sd35Size(string Name, Sd3Config Model, int Batch, int TextTokens, int MatmulSide)
{
    /// <summary>stable-diffusion-3.5-medium at 512×512: 24 layers of 24 heads × 64, dual attention in layers 0–12, RMS
    /// qk-norm, 64×64 latents (1024 image tokens), 333 text tokens, batch 8.</summary>
    public static Sd35Size Medium { get; } = new("medium", new Sd3Config
    {
        SampleSize = 64, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = 24, NumAttentionHeads = 24, AttentionHeadDim = 64,
        JointAttentionDim = 4096, CaptionProjectionDim = 1536, PooledProjectionDim = 2048, PosEmbedMaxSize = 384,
        DualAttentionLayers = [.. Enumerable.Range(0, 13)], QkNorm = "rms_norm",
    }, Batch: 8, TextTokens: 333, MatmulSide: 8192);

    /// <summary>The same architecture shrunk for a 2-core CPU (2 layers, width 64, 64 image tokens): keeps the benchmark
    /// compiling and running in CI; its figures say nothing about a GPU.</summary>
    public static Sd35Size Small { get; } = new("small", new Sd3Config
    {
        SampleSize = 16, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = 2, NumAttentionHeads = 2, AttentionHeadDim = 32,
        JointAttentionDim = 64, CaptionProjectionDim = 64, PooledProjectionDim = 32, PosEmbedMaxSize = 16,
        DualAttentionLayers = [0], QkNorm = "rms_norm",
    }, Batch: 2, TextTokens: 16, MatmulSide: 512);

    /// <summary>Image tokens per sample.</summary>
    public int ImageTokens => Model.SampleSize / Model.PatchSize * (Model.SampleSize / Model.PatchSize);
}

/// <summary>One measured line of the benchmark.</summary>
/// <param name="What">What was timed.</param>
/// <param name="Seconds">Seconds per repetition (mean after a warm-up).</param>
/// <param name="Tflops">Achieved TFLOP/s (analytic matmul FLOPs), or null where FLOPs are not the measure.</param>
/// <param name="Mfu">Achieved rate as a share of the dense bf16 matmul measured in the same run.</param>
/// <param name="Note">Units or how FLOPs were counted.</param>
internal sealed record BenchLine(string What, double Seconds, double? Tflops, double? Mfu, string Note);

/// <summary>
/// The SD3.5-Medium transformer (random weights, nothing downloaded) in bfloat16 on the chosen device: forward; forward +
/// backward + AdamW for full fine-tuning and for LoRA rank 32 (bf16-mixed: float32 masters, as the trainer runs); a
/// 10-step rollout with CFG; the SDE step — each as TFLOP/s and as the ratio to a dense bf16 matmul measured in the same
/// run (MFU). FLOPs are counted analytically from the matmuls.
/// </summary>
internal static class Sd35Bench
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var backend = TorchBackend.Initialize(DeviceSettings.For(DeviceRequest.Parse(Arg("--device") ?? "auto").OrThrow()));
        var device = backend.Device;
        var size = (Arg("--size") ?? (backend.Kind == BackendKind.Cuda ? "medium" : "small")) switch
        {
            "medium" => Sd35Size.Medium,
            "small" => Sd35Size.Small,
            var other => throw new ArgumentException($"unknown --size '{other}'; choose medium or small"),
        };
        var repetitions = int.Parse(Arg("--repeat") ?? (size == Sd35Size.Medium ? "5" : "2"), System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"omni bench sd35: {backend.Describe()}");
        Console.WriteLine($"size {size.Name}: {size.Model.NumLayers} layers, width {size.Model.InnerDim}, {size.ImageTokens} image + {size.TextTokens} text tokens, batch {size.Batch}, bf16; {repetitions} repetitions after a warm-up");
        if (backend.Kind == BackendKind.Cpu) CpuMemory.RetainFreedMemory();
        var lines = new List<BenchLine>();
        var matmul = MatmulTflops(size.MatmulSide, device, repetitions);
        lines.Add(new BenchLine($"matmul bf16 {size.MatmulSide}³", 2.0 * Math.Pow(size.MatmulSide, 3) / matmul / 1e12, matmul, 1.0, "dense peak of this run"));
        void Add(string what, double seconds, double flops, string note)
        {
            var tflops = flops / seconds / 1e12;
            lines.Add(new BenchLine(what, seconds, tflops, tflops / matmul, note));
        }

        var forwardFlops = ForwardFlops(size, size.Batch);
        using (var model = Build(size, device))
        {
            var (x, text, pooled, t) = Inputs(size, size.Batch, device);
            Add("forward", Time(repetitions, device, () => { using var g = no_grad(); model.forward(x, text, pooled, t); }), forwardFlops, "1× forward FLOPs");
            Add("rollout 10 steps, CFG", Rollout(model, size, device, repetitions, out var imagesPerSecond), 10 * ForwardFlops(size, 2 * size.Batch),
                $"{imagesPerSecond:F2} images/s; 10 forwards of batch {2 * size.Batch}");
            using (var precision = MixedPrecision.Prepare(model, TrainingPrecision.Bf16Mixed))
            using (var optimizer = optim.AdamW(precision.Masters.Select(p => p.Parameter), 1e-5))
                Add("train full fine-tuning", Time(repetitions, device, () => TrainStep(model, precision, optimizer, x, text, pooled, t)),
                    3 * forwardFlops, "bf16-mixed forward+backward+AdamW; 3× forward FLOPs");
            model.zero_grad();
            LoraAdapters.Attach(model, new LoraSettings { Rank = 32, Alpha = 64, TargetModules = [.. LoraTargets.FlowGrpo] }, Generators.Seeded(3));
            LoraAdapters.TrainOnlyAdapters(model);
            model.to(device);
            using (var precision = MixedPrecision.Prepare(model, TrainingPrecision.Bf16Mixed))
            using (var optimizer = optim.AdamW(precision.Masters.Select(p => p.Parameter), 1e-4))
                Add("train LoRA rank 32", Time(repetitions, device, () => TrainStep(model, precision, optimizer, x, text, pooled, t)),
                    2 * forwardFlops, "bf16-mixed; 2× forward FLOPs (no weight gradients for frozen weights)");
        }
        lines.Add(SdeStepLine(size, device, repetitions));

        Console.WriteLine($"{"what",-28} {"seconds",10} {"TFLOP/s",9} {"MFU",6}  note");
        foreach (var l in lines)
            Console.WriteLine($"{l.What,-28} {l.Seconds,10:F4} {(l.Tflops is { } f ? f.ToString("F2") : "-"),9} {(l.Mfu is { } m ? m.ToString("F3") : "-"),6}  {l.Note}");
        if (Arg("--json") is { } path)
            File.WriteAllText(path, JsonSerializer.Serialize(new
            {
                device = backend.DeviceName, device_name = backend.Devices.FirstOrDefault()?.Name, libtorch = backend.LibTorchVersion,
                size = size.Name, layers = size.Model.NumLayers, width = size.Model.InnerDim, image_tokens = size.ImageTokens,
                text_tokens = size.TextTokens, batch = size.Batch, dtype = "bfloat16", repetitions, threads = get_num_threads(), lines,
                diffusers_eager = "not measured by this program (tools/device-check/diffusers_sd3_bench.py does, where diffusers is importable)",
            }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static Sd3Transformer2DModel Build(Sd35Size size, Device device)
    {
        var model = new Sd3Transformer2DModel(size.Model);
        Omni.Models.Common.Precision.Cast(model, ScalarType.BFloat16);
        model.to(device);
        model.eval();
        return model;
    }

    private static (Tensor X, Tensor Text, Tensor Pooled, Tensor T) Inputs(Sd35Size size, int batch, Device device)
    {
        // The model's inputs in its compute dtype (what IDenoiser.Forward casts to); latents of a rollout stay float32.
        var noise = NoiseSource.Seeded(0);
        return (noise.Draw([batch, size.Model.InChannels, size.Model.SampleSize, size.Model.SampleSize], device: device).to(ScalarType.BFloat16),
                noise.Draw([batch, size.TextTokens, size.Model.JointAttentionDim], device: device).to(ScalarType.BFloat16),
                noise.Draw([batch, size.Model.PooledProjectionDim], device: device).to(ScalarType.BFloat16),
                full(batch, 500f, device: device));
    }

    private static void TrainStep(Sd3Transformer2DModel model, MixedPrecision precision, optim.Optimizer optimizer, Tensor x, Tensor text, Tensor pooled, Tensor t)
    {
        using var scope = NewDisposeScope();
        model.train();
        optimizer.zero_grad();
        model.forward(x, text, pooled, t).to(ScalarType.Float32).pow(2).mean().backward();
        precision.AccumulateGradients();
        optimizer.step();
        precision.Publish();
        model.eval();
    }

    // Ten Euler-SDE steps with classifier-free guidance 4.5 (one forward of the doubled batch per step), noise drawn on
    // the CPU per sample and moved, as Omni's rollouts do.
    private static double Rollout(Sd3Transformer2DModel model, Sd35Size size, Device device, int repetitions, out double imagesPerSecond)
    {
        var state = FlowMatchSchedule.SetTimesteps(new SchedulerConfig { Shift = 3.0 }, 10).OrThrow();
        var (x0, text, pooled, _) = Inputs(size, 2 * size.Batch, device);
        var seconds = Time(repetitions, device, () =>
        {
            using var scope = NewDisposeScope();
            using var g = no_grad();
            var noise = NoiseSource.PerSample(Enumerable.Range(0, size.Batch).Select(i => (long)i));
            var x = x0.narrow(0, 0, size.Batch).to(ScalarType.Float32);
            for (var k = 0; k < 10; k++)
            {
                var t = full(2 * size.Batch, state.Timesteps[k], device: device);
                var v = model.forward(cat([x, x]).to(ScalarType.BFloat16), text, pooled, t).to(ScalarType.Float32);
                var guided = Guidance.Combine(v.narrow(0, 0, size.Batch), v.narrow(0, size.Batch, size.Batch), 4.5);
                x = SdeStep.Sample(state, SdeType.Sde, StepAt.Index(k), x, guided, 0.7,
                                   NextSample.FromNoise(noise.Draw(x.shape, device: device))).OrThrow().PrevSample;
            }
        });
        imagesPerSecond = size.Batch / seconds;
        return seconds;
    }

    private static BenchLine SdeStepLine(Sd35Size size, Device device, int repetitions)
    {
        var state = FlowMatchSchedule.SetTimesteps(new SchedulerConfig { Shift = 3.0 }, 10).OrThrow();
        var shape = new long[] { size.Batch, size.Model.InChannels, size.Model.SampleSize, size.Model.SampleSize };
        var noise = NoiseSource.Seeded(1);
        using var x = noise.Draw(shape, device: device);
        using var v = noise.Draw(shape, device: device);
        using var eps = noise.Draw(shape, device: device);
        var iterations = 50;
        var seconds = Time(repetitions, device, () =>
        {
            for (var i = 0; i < iterations; i++)
            {
                using var scope = NewDisposeScope();
                _ = SdeStep.Sample(state, SdeType.Sde, StepAt.Index(3), x, v, 0.7, NextSample.FromNoise(eps)).OrThrow();
            }
        }) / iterations;
        var baseline = Time(repetitions, device, () =>
        {
            for (var i = 0; i < iterations; i++)
            {
                using var scope = NewDisposeScope();
                _ = x.add(v);
                _ = eps.add(x);
            }
        }) / iterations;
        return new BenchLine($"SDE step ({string.Join(",", shape)})", seconds, null, null,
            $"{seconds * 1e3:F3} ms per step, {seconds / baseline:F2}× the two-pass memory baseline ({baseline * 1e3:F3} ms), float32");
    }

    private static double MatmulTflops(int side, Device device, int repetitions)
    {
        var noise = NoiseSource.Seeded(2);
        using var a = noise.Draw([side, side], device: device).to(ScalarType.BFloat16);
        using var b = noise.Draw([side, side], device: device).to(ScalarType.BFloat16);
        var seconds = Time(Math.Max(repetitions, 3), device, () => { using var product = a.matmul(b); });
        return 2.0 * side * side * side / seconds / 1e12;
    }

    // Matmul FLOPs of one forward pass: per joint block, projections and MLPs 12·(N+L)·D² and attention 2·(N+L)²·D;
    // a dual-attention block adds an image-only attention, 4·N·D² + 2·N²·D; plus the patch and caption embeddings and the
    // output projection. ×2 per multiply-add.
    internal static double ForwardFlops(Sd35Size size, int batch)
    {
        var c = size.Model;
        double d = c.InnerDim, n = size.ImageTokens, l = size.TextTokens, p2 = c.PatchSize * c.PatchSize;
        var joint = 12 * (n + l) * d * d + 2 * (n + l) * (n + l) * d;
        var dual = 4 * n * d * d + 2 * n * n * d;
        var edges = n * c.InChannels * p2 * d + l * c.JointAttentionDim * d + n * d * p2 * c.OutputChannels;
        return 2 * batch * (c.NumLayers * joint + c.DualAttentionLayers.Length * dual + edges);
    }

    private static double Time(int repetitions, Device device, Action run)
    {
        run();
        Synchronize(device);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < repetitions; i++) run();
        Synchronize(device);
        return clock.Elapsed.TotalSeconds / repetitions;
    }

    private static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize();
    }
}
