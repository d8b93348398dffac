// Pretrains, evaluates and times the bundled shapes model. The lead folds this into the omni CLI as `omni pretrain`.
//   train  out=models/omni-shapes-tiny steps=6000 batch=48 lr=1e-3 noise=0.8 noisestart=4000 seed=0 [loss=x|v threads=N patch=10 layers=4 heads=2 headdim=48 snapshot=500]
//   eval   folder=models/omni-shapes-tiny [steps=10 cfg=3 seeds=2 eta=0]
//   grid   folder=… [rows=8 seeds=4 ppm=grid.ppm cfg=3]
//   time   [patch=4 layers=4 heads=2 headdim=48 batch=48 n=5]
using System.Diagnostics;
using System.Globalization;
using LanguageExt;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.Pretraining;
using static TorchSharp.torch;

// The backend first, before any torch call (this tool runs on the CPU; `omni pretrain --device` is the device-aware way).
Omni.Effects.Devices.TorchBackend.Initialize(Omni.Algebra.Devices.DeviceSettings.Cpu);
var command = args.FirstOrDefault() ?? "help";
var options = args.Skip(1).Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
string S(string key, string fallback) => options.TryGetValue(key, out var v) ? v : fallback;
int I(string key, int fallback) => int.Parse(S(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
double D(string key, double fallback) => double.Parse(S(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

set_num_threads(I("threads", Environment.ProcessorCount));
var text = new ShapesTextEncoderConfig { VocabSize = Omni.Shapes.World.ShapesVocabulary.Words.Count, MaxPositionEmbeddings = Omni.Shapes.World.ShapesVocabulary.MaxTokens };
var denoiser = ShapesDenoiser.Tiny(imageSize: I("size", 40), patchSize: I("patch", 10), layers: I("layers", 4), heads: I("heads", 2), headDim: I("headdim", 48));
var training = new ShapesPretrainingOptions
{
    OutputFolder = S("out", "models/omni-shapes-tiny"),
    Seed = I("seed", 0),
    Steps = I("steps", new ShapesPretrainingOptions { OutputFolder = "-" }.Steps),
    BatchSize = I("batch", 48),
    LearningRate = D("lr", 1e-3),
    WarmupSteps = I("warmup", 100),
    CaptionNoise = D("noise", new ShapesPretrainingOptions { OutputFolder = "-" }.CaptionNoise),
    Loss = S("loss", "x") == "v" ? PretrainingLoss.Velocity : PretrainingLoss.CleanImage,
    LogitMean = D("logitmean", 0),
    CaptionNoiseStart = I("noisestart", new ShapesPretrainingOptions { OutputFolder = "-" }.CaptionNoiseStart),
    CheckpointEvery = I("checkpoint", 100),
    SnapshotEvery = I("snapshot", 0),
    TextEncoder = text,
    Denoiser = denoiser,
};
var sampling = new ShapesSampling(I("steps", ShapesSampling.DefaultSteps), D("cfg", ShapesSampling.DefaultGuidanceScale), D("eta", 0));

switch (command)
{
    case "train":
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.WriteLine($"pretraining {training.OutputFolder}: {training.Steps} steps × {training.BatchSize}, lr {training.LearningRate}, denoiser {ShapesDenoiser.ToJson(denoiser).Replace("\n", " ")}");
        using var pipeline = ShapesPretraining.Run(training, new ConsoleProgress(), cancel.Token);
        Console.WriteLine($"held-out (ODE, {ShapesSampling.DefaultSteps} steps, cfg {ShapesSampling.DefaultGuidanceScale}): {ShapesEvaluation.HeldOutReward(pipeline)}");
        break;
    }
    case "eval":
    {
        var folder = S("folder", "models/omni-shapes-tiny");
        using var pipeline = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new InvalidOperationException(e.Message));
        var clock = Stopwatch.StartNew();
        var result = ShapesEvaluation.HeldOutReward(pipeline, I("seeds", 2), I("firstseed", 0), sampling);
        Console.WriteLine($"{folder} steps {sampling.Steps} cfg {sampling.GuidanceScale} eta {sampling.NoiseLevel}: {result} in {clock.Elapsed.TotalSeconds:F1}s");
        break;
    }
    case "time":
    {
        using var pipeline = ShapesPipeline.Create(text, denoiser, 0);
        var parameters = ShapesPretraining.Parameters(pipeline);
        Console.WriteLine($"parameters: text {pipeline.TextEncoder.parameters().Sum(p => p.numel())}, denoiser {pipeline.Transformer.parameters().Sum(p => p.numel())}");
        using var optimizer = optim.AdamW(parameters, 1e-3);
        var n = I("n", 5);
        ShapesPretraining.Step(pipeline, optimizer, parameters, training, 0);
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= n; i++) ShapesPretraining.Step(pipeline, optimizer, parameters, training, i);
        Console.WriteLine($"train step (batch {training.BatchSize}): {clock.Elapsed.TotalMilliseconds / n:F0} ms");
        pipeline.Eval();
        var prompts = Omni.Shapes.World.ShapesWorld.HeldOut.Take(32).Select(p => p.Text).ToArray();
        clock.Restart();
        using (var images = ShapesSampler.Sample(pipeline, prompts, Enumerable.Range(0, 32).Select(i => (long)i).ToArray(), sampling)) { }
        Console.WriteLine($"sample 32 images ({sampling.Steps} steps, cfg {sampling.GuidanceScale}): {clock.Elapsed.TotalMilliseconds:F0} ms");
        break;
    }
    case "grid":
    {
        // A PPM contact sheet of the first held-out prompts (one row per prompt: `seeds` samples), to look at.
        var folder = S("folder", "models/omni-shapes-tiny");
        using var pipeline = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new InvalidOperationException(e.Message));
        var (rows, columns) = (I("rows", 8), I("seeds", 4));
        var prompts = Omni.Shapes.World.ShapesWorld.HeldOut.Take(rows).ToArray();
        var texts = prompts.SelectMany(p => Enumerable.Repeat(p.Text, columns)).ToArray();
        using var images = ShapesSampler.Sample(pipeline, texts, Enumerable.Range(0, texts.Length).Select(i => (long)i).ToArray(), sampling);
        var rgb = Omni.Algebra.Rewards.RgbImage.FromTensor(images);
        ContactSheet.WritePpm(S("ppm", "grid.ppm"), rgb, columns);
        for (var r = 0; r < rows; r++)
            Console.WriteLine($"{r}: {prompts[r].Text} → {string.Join(" ", Enumerable.Range(0, columns).Select(c => Omni.Shapes.World.ShapesReward.Evaluate(prompts[r], rgb[r * columns + c]).Total.ToString("F2", CultureInfo.InvariantCulture)))}");
        break;
    }
    default:
        Console.WriteLine("usage: train|eval|time|grid key=value …");
        break;
}

/// <summary>Writes progress lines synchronously.</summary>
internal sealed class ConsoleProgress : IProgress<PretrainingProgress>
{
    /// <inheritdoc />
    public void Report(PretrainingProgress value) => Console.WriteLine(value);
}

/// <summary>Writes images of one size as a binary PPM grid with a one-pixel grey border.</summary>
internal static class ContactSheet
{
    /// <summary>Writes <paramref name="images"/>, <paramref name="columns"/> per row, to <paramref name="path"/>.</summary>
    public static void WritePpm(string path, IReadOnlyList<Omni.Algebra.Rewards.RgbImage> images, int columns)
    {
        var (w, h) = (images[0].Width, images[0].Height);
        var rows = (images.Count + columns - 1) / columns;
        var (width, height) = (columns * (w + 1) + 1, rows * (h + 1) + 1);
        var pixels = Enumerable.Repeat((byte)96, width * height * 3).ToArray();
        for (var i = 0; i < images.Count; i++)
        {
            var (x0, y0) = (1 + i % columns * (w + 1), 1 + i / columns * (h + 1));
            for (var y = 0; y < h; y++)
                images[i].Pixels.Span.Slice(y * w * 3, w * 3).CopyTo(pixels.AsSpan(((y0 + y) * width + x0) * 3));
        }
        using var stream = File.Create(path);
        stream.Write(System.Text.Encoding.ASCII.GetBytes($"P6\n{width} {height}\n255\n"));
        stream.Write(pixels);
    }
}
