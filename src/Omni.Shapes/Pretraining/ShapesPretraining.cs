using System.Diagnostics;
using Omni.Algebra.Training;
using Omni.Effects.Random;
using Omni.Shapes.Pipeline;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Shapes.Pretraining;

/// <summary>
/// Pretrains the bundled shapes model by flow matching (<see cref="RectifiedFlow"/>) on freshly rendered training
/// prompts: text encoder and denoiser jointly, AdamW with warm-up and cosine decay, gradient clipping, text dropout
/// for classifier-free guidance. Step k's data and noise depend only on (seed, k), so a run is deterministic for its
/// options and resumes exactly from its periodic checkpoint after Ctrl-C or a kill.
/// </summary>
public static class ShapesPretraining
{
    /// <summary>
    /// Runs (or resumes) the pretraining and writes the final pipeline folder; returns the trained pipeline (in
    /// evaluation mode; the caller disposes it). Cancellation writes a checkpoint of the completed steps, then throws.
    /// </summary>
    /// <exception cref="ArgumentException">The options are not usable; the message lists every problem.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled (after checkpointing).</exception>
    public static ShapesPipeline Run(ShapesPretrainingOptions options, IProgress<PretrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (options.Problems() is { Count: > 0 } problems)
            throw new ArgumentException($"The pretraining options are not usable: {string.Join(" ", problems)}", nameof(options));
        var clock = Stopwatch.StartNew();
        var pipeline = ShapesPipeline.Create(options.TextEncoder, options.Denoiser, options.Seed);
        try
        {
            if (options.Device is { } device) pipeline.To(device); // before the optimizer: moving replaces the parameters
            var parameters = Parameters(pipeline);
            using var optimizer = optim.AdamW(parameters, options.LearningRate, beta1: 0.9, beta2: 0.99, weight_decay: options.WeightDecay);
            var start = options.Resume
                ? PretrainingCheckpoint.TryRestore(options.CheckpointPath, pipeline, optimizer, options.Seed).IfNone(0)
                : 0;
            if (start > 0) progress?.Report(new PretrainingProgress(start, options.Steps, double.NaN, options.LearningRateAt(start - 1), clock.Elapsed, "resumed"));
            pipeline.TextEncoder.train();
            pipeline.Transformer.train();
            var (lossSum, lossCount) = (0.0, 0);
            for (var step = start; step < options.Steps; step++)
            {
                if (cancellation.IsCancellationRequested)
                {
                    PretrainingCheckpoint.Save(options.CheckpointPath, pipeline, optimizer, step, options.Seed);
                    cancellation.ThrowIfCancellationRequested();
                }
                var rate = options.LearningRateAt(step);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = rate;
                lossSum += Step(pipeline, optimizer, parameters, options, step);
                lossCount++;
                var done = step + 1;
                if (done % options.ReportEvery == 0 || done == options.Steps)
                {
                    progress?.Report(new PretrainingProgress(done, options.Steps, lossSum / lossCount, rate, clock.Elapsed));
                    (lossSum, lossCount) = (0.0, 0);
                }
                if (options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0 && done < options.Steps)
                {
                    PretrainingCheckpoint.Save(options.CheckpointPath, pipeline, optimizer, done, options.Seed);
                    progress?.Report(new PretrainingProgress(done, options.Steps, double.NaN, rate, clock.Elapsed, "checkpoint"));
                }
                if (options.SnapshotEvery > 0 && done % options.SnapshotEvery == 0 && done < options.Steps)
                {
                    ShapesPipelineFolder.Save(pipeline, $"{options.OutputFolder.TrimEnd('/', '\\')}-step{done}");
                    progress?.Report(new PretrainingProgress(done, options.Steps, double.NaN, rate, clock.Elapsed, "snapshot"));
                }
            }
            PretrainingCheckpoint.Save(options.CheckpointPath, pipeline, optimizer, options.Steps, options.Seed);
            pipeline.Eval();
            ShapesPipelineFolder.Save(pipeline, options.OutputFolder);
            progress?.Report(new PretrainingProgress(options.Steps, options.Steps, double.NaN, options.LearningRateAt(options.Steps - 1), clock.Elapsed, "done"));
            return pipeline;
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One optimizer step on step <paramref name="step"/>'s batch (drawn from (seed, step)); returns the loss before the update.
    /// </summary>
    public static double Step(ShapesPipeline pipeline, OptimizerHelper optimizer, IReadOnlyList<Parameter> parameters,
                              ShapesPretrainingOptions options, int step)
    {
        using var scope = NewDisposeScope();
        var stepSeed = StepSeed(options.Seed, step);
        using var batch = PretrainingBatch.Draw(new System.Random((int)(stepSeed & int.MaxValue)), options.BatchSize, pipeline.ImageSize, options.TextDropout, options.CaptionNoiseAt(step));
        using var generator = Generators.Seeded((long)(stepSeed >> 1));
        var device = pipeline.Device;
        var noise = randn(batch.Images.shape, ScalarType.Float32, CPU, generator: generator).to(device);
        var sigmas = RectifiedFlow.SampleSigmas(options.BatchSize, generator, options.LogitMean, options.LogitStd).to(device);
        optimizer.zero_grad();
        var loss = RectifiedFlow.Loss(pipeline, batch.Tokens.to(device), batch.Images.to(device), noise, sigmas, options.Loss);
        loss.backward();
        if (options.MaxGradNorm > 0) nn.utils.clip_grad_norm_(parameters, options.MaxGradNorm);
        optimizer.step();
        return loss.item<float>();
    }

    /// <summary>The trained parameters: text encoder, then denoiser.</summary>
    public static IReadOnlyList<Parameter> Parameters(ShapesPipeline pipeline) =>
        [.. pipeline.TextEncoder.parameters(), .. pipeline.Transformer.parameters()];

    /// <summary>The seed of step <paramref name="step"/>'s data and noise (SplitMix64 of the run seed and the step).</summary>
    public static ulong StepSeed(long seed, int step) => SplitMix64.Mix(unchecked((ulong)seed * SplitMix64.Gamma + (ulong)step + 1));
}
