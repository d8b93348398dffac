using System.Diagnostics;
using System.Text.Json;
using Omni.Algebra.Training;
using Omni.Effects.Distributed;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Models;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;
using Omni.Training.Options;
using static TorchSharp.torch;

namespace Omni.Bench;

/// <summary>
/// The shapes training step (the bundled model, the shapes job's settings: 32 prompts × 4 images per step in one update)
/// at the same global batch in one process with two threads and over two MPICH ranks with one thread each (DDP and FSDP):
/// seconds per step, bytes each rank sends per step, and the bytes of parameters, gradients and AdamW moments per rank
/// (FSDP at world size 1 and 2). Each configuration runs as its own process tree; the ratios are within this run.
/// </summary>
internal static class DistributedBench
{
    private const int TimedSteps = 3;

    /// <summary>The per-rank measurement a child writes.</summary>
    private sealed record Result(string Mode, int Ranks, int Threads, string Backend, double SecondsPerStep, double BytesSentPerStep,
                                 long ParameterBytes, long GradientBytes, long OptimizerBytes);

    public static void Run()
    {
        var cores = Environment.ProcessorCount;
        var runs = new (string Mode, int Ranks, int Threads)[] { ("none", 1, cores), ("ddp", 2, Math.Max(1, cores / 2)), ("fsdp", 2, Math.Max(1, cores / 2)), ("fsdp", 1, cores) };
        var results = runs.Select(r => Child(r.Mode, r.Ranks, r.Threads)).ToList();
        var baseline = results[0];
        Console.WriteLine($"shapes training step: bundled model, 32 prompts x 4 images = 128 samples per step, one update; CPU, {cores} logical cores; " +
                          $"{TimedSteps} timed steps after one warm-up step");
        Console.WriteLine($"{"configuration",-28} {"threads/rank",12} {"s/step",8} {"samples/s",10} {"x 1 process",12} {"MB sent/rank/step",18}");
        foreach (var r in results.Take(3))
            Console.WriteLine($"{Label(r),-28} {r.Threads,12} {r.SecondsPerStep,8:F2} {128 / r.SecondsPerStep,10:F1} {baseline.SecondsPerStep / r.SecondsPerStep,12:F2} {r.BytesSentPerStep / 1e6,18:F2}");
        Console.WriteLine();
        Console.WriteLine("bytes per rank: parameters (policy + frozen KL reference) + gradients + AdamW moments");
        Console.WriteLine($"{"configuration",-28} {"parameters",12} {"gradients",12} {"AdamW",12} {"total",12} {"x world 1",10}");
        var fsdp1 = results.Single(r => r.Mode == "fsdp" && r.Ranks == 1);
        foreach (var r in new[] { baseline, results[1], fsdp1, results[2] })
        {
            var total = r.ParameterBytes + r.GradientBytes + r.OptimizerBytes;
            var world1 = fsdp1.ParameterBytes + fsdp1.GradientBytes + fsdp1.OptimizerBytes;
            Console.WriteLine($"{Label(r),-28} {r.ParameterBytes,12:N0} {r.GradientBytes,12:N0} {r.OptimizerBytes,12:N0} {total,12:N0} {(double)total / world1,10:F3}");
        }
    }

    private static string Label(Result r) => r.Mode == "none" ? "1 process" : $"{r.Ranks} rank{(r.Ranks > 1 ? "s" : "")} {r.Mode} ({r.Backend})";

    // Runs one configuration as `mpiexec -n R <this bench> distributed-rank MODE OUT` (a plain child for one process).
    private static Result Child(string mode, int ranks, int threads)
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("omni-bench-").FullName, "result.json");
        var host = Environment.ProcessPath!;
        List<string> self = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(DistributedBench).Assembly.Location] : [host];
        var command = ranks == 1 && mode == "none" ? self : ["mpiexec", "-n", ranks.ToString(), .. self];
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var a in command.Skip(1).Concat(["distributed-rank", mode, output])) start.ArgumentList.Add(a);
        start.Environment["OMNI_THREADS"] = threads.ToString();
        using var child = Process.Start(start)!;
        child.WaitForExit();
        try
        {
            if (child.ExitCode != 0) throw new InvalidOperationException($"the {mode} run on {ranks} rank(s) failed with exit code {child.ExitCode}.");
            return JsonSerializer.Deserialize<Result>(File.ReadAllText(output))!;
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(output)!, true);
        }
    }

    /// <summary>One rank of a configuration: builds the shapes training, runs a warm-up step and the timed steps, writes rank 0's figures.</summary>
    public static void Rank(string mode, string output)
    {
        var layout = RankEnvironment.Current().Match(l => l, e => throw new InvalidOperationException(e.Message));
        var threads = RankPlacement.SplitCpuThreads(layout);
        Omni.Effects.Devices.CpuMemory.RetainFreedMemory();
        using var collectives = Collectives.Start(layout, CollectivesBackend.Auto, CPU);
        var model = FindBundledModel();
        using var shapes = ShapesPipelineFolder.Load(model).Match(p => p, e => throw new InvalidOperationException(e.Message));
        using var reference = ShapesPipelineFolder.Load(model).Match(p => p, e => throw new InvalidOperationException(e.Message));
        shapes.Eval();
        reference.Eval();
        var prompts = ShapesPromptEncoding.Encode(shapes.TextEncoder, ShapesWorld.Training.Select(p => p.Text).ToList())
            .Match(p => p, e => throw new InvalidOperationException(e.Message));
        var run = Path.Combine(Path.GetTempPath(), $"omni-bench-run-{mode}-{layout.WorldSize}");
        // The shapes job's settings (ShapesJob.Defaults in Omni.Cli).
        var options = new TrainingOptions
        {
            Steps = TimedSteps + 1, PromptsPerStep = 32, GroupSize = 4, MicroBatchSize = 128, LearningRate = 1e-4, ClipRatio = 1e-3,
            Window = WindowStrategy.Random, WindowSize = 4, WindowRangeStart = 0, WindowRangeEnd = 4, RecomputeOldLogProbs = false,
            UseKl = true, KlCoefficient = 0.04, CheckpointEvery = 0, SampleGridEvery = 0,
        };
        var builder = OmniTraining.From(OmniPipelineBuilder.For(shapes.ModelConfig(model, sde: new Algebra.Config.SdeSettings { NoiseLevel = 0.7, SdeType = Algebra.Sde.SdeType.Sde })).WithRegistries(ShapesAdapter.Register(BuiltInAdapters.Registries)))
            .WithModule(shapes.Transformer).WithDecoder(ShapesImages.Decode).WithPrompts(prompts).WithOptions(options)
            .WithReward(ShapesReward.Function).WithReference(reference.Transformer).FullFineTuning()
            .WithoutDefaultObservers().StartFresh().WriteTo(run);
        if (mode != "none") builder = builder.WithDataParallel(collectives, ShardingModes.Parse(mode, ShardingMode.Ddp).Match(m => m, e => throw new ArgumentException(e.Message)));
        using var training = builder.Build();
        training.Trainer.StepAsync().GetAwaiter().GetResult();
        collectives.Barrier();
        var sentBefore = collectives.Traffic.TotalBytes;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < TimedSteps; i++) training.Trainer.StepAsync().GetAwaiter().GetResult();
        collectives.Barrier();
        var seconds = clock.Elapsed.TotalSeconds / TimedSteps;
        var memory = training.Trainer.Memory();
        if (layout.IsLeader)
            File.WriteAllText(output, JsonSerializer.Serialize(new Result(mode, layout.WorldSize, threads, collectives.Backend, seconds,
                (collectives.Traffic.TotalBytes - sentBefore) / (double)TimedSteps, memory.ParameterBytes, memory.GradientBytes, memory.OptimizerStateBytes)));
        Directory.Delete(run, true);
    }

    private static string FindBundledModel()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models", "omni-shapes-tiny");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("models/omni-shapes-tiny not found above the bench's output folder.");
    }
}
