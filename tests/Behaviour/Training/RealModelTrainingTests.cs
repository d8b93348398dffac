using System.Collections.Immutable;
using Omni.Algebra.Config;
using Omni.Algebra.Rewards;
using Omni.Algebra.Sde;
using Omni.Effects.Prompts;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Adapters;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using Omni.Training.Checkpoints;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Training;

/// <summary>The loop on a real architecture: the tiny SD3 pipeline folder, LoRA-only training, CFG, KL to the adapters-off model.</summary>
public sealed class RealModelTrainingTests
{
    private static string Sd3Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Golden", "Fixtures", "pipelines", "sd3_tiny_pipe");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/Golden/Fixtures/pipelines/sd3_tiny_pipe not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task Lora_training_on_sd3_moves_only_the_adapters_and_checkpoints_them()
    {
        var folder = Sd3Folder();
        var pipeline = OmniPipeline.FromFolder(folder).WithSteps(4).WithSize(32, 32).WithSde(SdeType.Sde, 0.7).WithGuidance(3.0).Build();
        var model = (Sd3Transformer2DModel)pipeline.LoadDenoiser();
        var lora = new LoraSettings { Rank = 4, Alpha = 8, TargetModules = [.. LoraTargets.FlowGrpo] };
        LoraAdapters.Attach(model, lora, Generators.Seeded(3));
        LoraAdapters.TrainOnlyAdapters(model);
        using var vae = Omni.Models.Loading.VaeLoader.LoadAutoencoderKL(folder).Match(v => v, e => throw new Exception(e.Message));
        var baseBefore = model.named_parameters().Where(p => !p.name.Contains("lora_")).ToDictionary(p => p.name, p => p.parameter.detach().clone());

        var noise = NoiseSource.Seeded(5);
        var prompts = new PromptEmbeddings(noise.Draw([3, 7, 32]), null, noise.Draw([3, 7, 32]) * 0, null,
            ImmutableDictionary<string, Tensor>.Empty.Add(Sd3FlowGrpo.Pooled, noise.Draw([3, 64])).Add(Sd3FlowGrpo.NegativePooled, zeros(3, 64)),
            ["a", "b", "c"]);
        var brightness = RewardFunction.PerSample("brightness", (image, _, _) =>
        {
            var span = image.Pixels.Span;
            var total = 0.0;
            foreach (var b in span) total += b;
            return (float)(total / span.Length / 255.0);
        });
        var run = Directory.CreateTempSubdirectory("omni-sd3-train-").FullName;
        try
        {
            var observer = new RecordingObserver();
            var setup = new TrainingSetup
            {
                Policy = new Policy { Module = model, Config = pipeline.Config, Registries = pipeline.Registries, Schedule = pipeline.Schedule, TrainsLora = true },
                Prompts = prompts,
                Reward = TrainingFixture.Score(brightness),
                Decode = latents => vae.DecodeLatents(latents).add(1).div(2).clamp(0, 1),
                Options = new() { Steps = 2, PromptsPerStep = 2, GroupSize = 2, MicroBatchSize = 2, UseKl = true, KlCoefficient = 0.04,
                                  LearningRate = 1e-2, CheckpointEvery = 1, SampleGridEvery = 0 },
                RunDirectory = run,
                Observers = [observer],
            };
            using (var trainer = FlowGrpoTrainer.Create(setup))
                await trainer.RunAsync();

            Assert.All(observer.Reports, r => Assert.Null(r.SkipReason));
            Assert.All(observer.Reports, r => Assert.Equal(1.0, r.Metrics["actor/first_ratio"]));
            Assert.Equal(0.0, observer.Reports[0].Metrics["actor/kl_loss"]);
            Assert.True(observer.Reports[1].Metrics["actor/kl_loss"] > 0, "after an update the LoRA policy differs from the adapters-off reference");
            foreach (var (name, p) in model.named_parameters().Where(p => !p.name.Contains("lora_")))
                Assert.True((p.detach() - baseBefore[name]).abs().max().item<float>() == 0, $"base weight {name} changed");
            Assert.Contains(model.named_parameters(), p => p.name.Contains("lora_B") && p.parameter.detach().abs().max().item<float>() > 0);

            var checkpoint = TrainingCheckpoint.Latest(run)!;
            using var saved = Omni.Effects.Safetensors.SafetensorsFile.Open(Path.Combine(checkpoint, "trainable.safetensors"));
            Assert.All(saved.Entries.Keys, k => Assert.Contains("lora_", k));
        }
        finally
        {
            Directory.Delete(run, true);
            model.Dispose();
        }
    }
}
