using Omni.Effects.Random;
using Omni.Models.Loading;
using Omni.Shapes.Pipeline;
using Omni.Shapes.Pretraining;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.ShapesModel;

public sealed class ShapesPretrainingTests
{
    private static ShapesPretrainingOptions Options(string folder, int steps) => new()
    {
        OutputFolder = Path.Combine(folder, "model"),
        Seed = 17,
        Steps = steps,
        BatchSize = 8,
        WarmupSteps = 2,
        CheckpointEvery = 2,
        ReportEvery = 1,
        TextEncoder = TinyShapes.Text,
        Denoiser = TinyShapes.Denoiser,
    };

    [Fact]
    public void Steps_on_one_batch_reduce_its_loss()
    {
        using var pipeline = TinyShapes.Create(seed: 4);
        var options = Options("unused", 10) with { LearningRate = 3e-3 };
        var parameters = ShapesPretraining.Parameters(pipeline);
        using var optimizer = optim.AdamW(parameters, options.LearningRate);
        using var batch = PretrainingBatch.Draw(new System.Random(0), 8, pipeline.ImageSize, textDropout: 0);
        using var generator = Generators.Seeded(0);
        using var noise = randn(batch.Images.shape, ScalarType.Float32, CPU, generator: generator);
        using var sigmas = RectifiedFlow.SampleSigmas(8, generator);
        double FixedLoss()
        {
            using var _ = no_grad();
            using var loss = RectifiedFlow.Loss(pipeline, batch.Tokens, batch.Images, noise, sigmas);
            return loss.item<float>();
        }
        var before = FixedLoss();
        for (var i = 0; i < 10; i++) ShapesPretraining.Step(pipeline, optimizer, parameters, options, step: 0);   // step 0's batch every time
        var after = FixedLoss();
        Assert.True(after < 0.9 * before, $"loss {before} → {after}");
    }

    [Fact]
    public void The_clean_image_loss_compares_the_prediction_with_the_image_and_the_velocity_loss_with_the_flow()
    {
        using var pipeline = TinyShapes.Create(seed: 6);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var batch = PretrainingBatch.Draw(new System.Random(1), 4, pipeline.ImageSize, textDropout: 0);
        using var generator = Generators.Seeded(1);
        using var noise = randn(batch.Images.shape, ScalarType.Float32, CPU, generator: generator);
        using var sigmas = tensor(new[] { 0.2f, 0.4f, 0.6f, 0.9f });
        using var noised = RectifiedFlow.Noise(batch.Images, noise, sigmas);
        var (embeds, pooled) = pipeline.TextEncoder.forward(batch.Tokens);
        using var sample = pipeline.Transformer.forward(noised, embeds, pooled, sigmas * 1000f);
        // Independent restatement: x̂ against x₀, and (x_σ − x̂)/σ against ε − x₀ (no σ here is under the clamp).
        var cleanExpected = (sample - batch.Images).pow(2).mean().item<float>();
        var velocityExpected = ((noised - sample) / sigmas.view(-1, 1, 1, 1) - (noise - batch.Images)).pow(2).mean().item<float>();
        using var clean = RectifiedFlow.Loss(pipeline, batch.Tokens, batch.Images, noise, sigmas, PretrainingLoss.CleanImage);
        using var velocity = RectifiedFlow.Loss(pipeline, batch.Tokens, batch.Images, noise, sigmas, PretrainingLoss.Velocity);
        Assert.Equal(cleanExpected, clean.item<float>(), 1e-4f);
        Assert.Equal(velocityExpected, velocity.item<float>(), 1e-3f * velocityExpected);
        Assert.Equal(PretrainingLoss.CleanImage, Options("unused", 1).Loss);
    }

    [Fact]
    public void A_run_is_deterministic_and_resumes_exactly()
    {
        var root = Directory.CreateTempSubdirectory("omni-pretrain-").FullName;
        try
        {
            var losses = new List<double>();
            using var straight = ShapesPretraining.Run(Options(Path.Combine(root, "a"), 4), new Collect(losses));
            var stopped = new List<double>();
            using (ShapesPretraining.Run(Options(Path.Combine(root, "b"), 2), new Collect(stopped))) { }
            // Extending the run continues from the checkpoint of step 2 (as after a kill).
            using var resumed = ShapesPretraining.Run(Options(Path.Combine(root, "b"), 4), new Collect(stopped));
            var again = new List<double>();
            using var repeat = ShapesPretraining.Run(Options(Path.Combine(root, "c"), 4), new Collect(again));

            Assert.Equal(losses, again);
            Assert.Equal(losses, stopped);
            foreach (var (key, value) in straight.Transformer.state_dict())
            {
                Assert.True(value.Equals(resumed.Transformer.state_dict()[key]), key);
                Assert.True(value.Equals(repeat.Transformer.state_dict()[key]), key);
            }
            using var written = ShapesPipelineFolder.Load(Path.Combine(root, "a", "model")).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
            Assert.True(WeightLoader.Load(written.Transformer, Path.Combine(root, "a", "model.checkpoint", "transformer.safetensors")).IsExact);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Cancelling_writes_a_checkpoint_then_throws()
    {
        var root = Directory.CreateTempSubdirectory("omni-pretrain-").FullName;
        try
        {
            using var cancel = new CancellationTokenSource();
            var options = Options(root, 50) with { CheckpointEvery = 0 };
            var seen = new List<double>();
            Assert.Throws<OperationCanceledException>(() => ShapesPretraining.Run(options, new Collect(seen, after: 3, cancel), cancel.Token));
            Assert.Equal(3, seen.Count);
            Assert.True(File.Exists(Path.Combine(options.CheckpointPath, "state.json")));
            Assert.Contains("\"CompletedSteps\":3", File.ReadAllText(Path.Combine(options.CheckpointPath, "state.json")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Caption_noise_pairs_about_that_share_of_images_with_another_prompt_and_none_without_it()
    {
        static (int Mismatched, int Captioned) Count(double noise)
        {
            using var batch = PretrainingBatch.Draw(new System.Random(3), 400, 32, textDropout: 0.1, captionNoise: noise);
            var captioned = batch.Captions.Count(c => c is not null);
            var mismatched = batch.Captions.Where((c, i) => c is not null && c.Text != batch.Prompts[i].Text).Count();
            return (mismatched, captioned);
        }
        var clean = Count(0);
        Assert.Equal(0, clean.Mismatched);
        Assert.InRange(clean.Captioned, 320, 390);   // text dropout 0.1 of 400
        var noisy = Count(0.5);
        Assert.InRange(noisy.Mismatched / (double)noisy.Captioned, 0.4, 0.6);
        // The tokens are the caption's, not the rendered prompt's.
        using var batch = PretrainingBatch.Draw(new System.Random(3), 50, 32, textDropout: 0, captionNoise: 0.99);
        var expected = Omni.Shapes.World.ShapesVocabulary.Tokenize(batch.Captions[0]!);
        using var first = batch.Tokens[0];
        Assert.Equal(expected, first.data<long>().ToArray().Take(expected.Length).Select(id => (int)id));
    }

    [Fact]
    public void Options_report_every_problem_and_the_learning_rate_warms_up_then_decays()
    {
        var bad = new ShapesPretrainingOptions { OutputFolder = "", Steps = 0, BatchSize = 0, TextDropout = 2, CaptionNoise = 1 };
        Assert.Equal(5, bad.Problems().Count);
        var options = new ShapesPretrainingOptions { OutputFolder = "x", Steps = 100, WarmupSteps = 10, LearningRate = 1e-3, FinalLearningRateShare = 0.1 };
        Assert.Equal(1e-4, options.LearningRateAt(0), 12);
        Assert.Equal(1e-3, options.LearningRateAt(10), 12);
        Assert.Equal(1e-4, options.LearningRateAt(99), 12);
    }

    /// <summary>Collects the training losses synchronously (optionally cancelling after some steps).</summary>
    private sealed class Collect(List<double> losses, int after = int.MaxValue, CancellationTokenSource? cancel = null) : IProgress<PretrainingProgress>
    {
        public void Report(PretrainingProgress value)
        {
            if (value.Event is not null) return;
            losses.Add(value.Loss);
            if (losses.Count >= after) cancel?.Cancel();
        }
    }
}
