using System.CommandLine;
using Omni.Cli.Cli;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.Pretraining;
using Omni.Shapes.World;

namespace Omni.Cli.Commands;

/// <summary><c>omni pretrain</c>: flow-matching pretraining of the bundled shapes model.</summary>
public static class PretrainCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Where the pipeline folder is written.", DefaultValueFactory = _ => ModelLocator.BundledModel };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (default 6000: 29 min on one thread of a busy 2-core machine)." };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step (default 48)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default 1e-3, cosine decay)." };
        var noise = new Option<double?>("--caption-noise") { Description = "Share of images paired with another prompt's caption from --caption-noise-start on (default 0.8, as the bundled model; 0 = clean captions)." };
        var noiseStart = new Option<int?>("--caption-noise-start") { Description = "The first step with noisy captions; the steps before it see true captions only (default 4000)." };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var command = new Command("pretrain", "Flow-matching pretraining of the tiny shapes text-to-image model (resumes from its checkpoint; Ctrl-C stops and keeps it).")
        {
            output, steps, batch, lr, noise, noiseStart, seed, device,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            await Task.Yield();
            var backend = CliDevice.Select(result.GetValue(device));
            var defaults = new ShapesPretrainingOptions { OutputFolder = result.GetValue(output)! };
            var options = defaults with
            {
                Steps = result.GetValue(steps) ?? defaults.Steps,
                BatchSize = result.GetValue(batch) ?? defaults.BatchSize,
                LearningRate = result.GetValue(lr) ?? defaults.LearningRate,
                CaptionNoise = result.GetValue(noise) ?? defaults.CaptionNoise,
                CaptionNoiseStart = result.GetValue(noiseStart) ?? defaults.CaptionNoiseStart,
                Seed = result.GetValue(seed) ?? defaults.Seed,
                Device = backend.Device,
                TextEncoder = new ShapesTextEncoderConfig { VocabSize = ShapesVocabulary.Words.Count, MaxPositionEmbeddings = ShapesVocabulary.MaxTokens },
            };
            if (options.Problems() is { Count: > 0 } problems) throw new ArgumentException(string.Join(" ", problems));
            using var interrupt = new Interrupt();
            Console.WriteLine($"omni pretrain: {options.Steps} steps × {options.BatchSize} images → {options.OutputFolder} (checkpoint {options.CheckpointPath})");
            using var pipeline = ShapesPretraining.Run(options, new Progress(), interrupt.Token);
            if (interrupt.Token.IsCancellationRequested)
            {
                Console.WriteLine("Stopped; run the same command to resume from the checkpoint.");
                return ExitCodes.Interrupted;
            }
            Console.WriteLine($"held-out reward: {ShapesJob.Describe(ShapesEvaluation.HeldOutReward(pipeline))}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private sealed class Progress : IProgress<PretrainingProgress>
    {
        public void Report(PretrainingProgress value) => Console.WriteLine(value);
    }
}
