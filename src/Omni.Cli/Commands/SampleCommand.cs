using System.CommandLine;
using Omni.Algebra.Rewards;
using Omni.Algebra.Sde;
using Omni.Cli.Cli;
using Omni.Effects.Imaging;
using Omni.Effects.Safetensors;
using Omni.Facade.Pipelines;
using Omni.Models;
using Omni.Reporting;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;
using static TorchSharp.torch;

namespace Omni.Cli.Commands;

/// <summary><c>omni sample</c>: prompts → PNGs (and, on request, the trajectory with its log-probs).</summary>
public static class SampleCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var lora = CommonOptions.Lora();
        var prompt = new Option<string[]>("--prompt", "-p") { Description = "A prompt (repeatable). Default: the first 8 held-out shapes prompts." };
        var seeds = new Option<int>("--seeds") { Description = "Images per prompt (seeds first-seed, first-seed+1, …).", DefaultValueFactory = _ => 4 };
        var firstSeed = new Option<long>("--first-seed") { Description = "First seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out", "-o") { Description = "Output folder.", DefaultValueFactory = _ => "samples" };
        var steps = new Option<int>("--steps") { Description = "Sampling steps.", DefaultValueFactory = _ => ShapesSampling.DefaultSteps };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale.", DefaultValueFactory = _ => ShapesSampling.DefaultGuidanceScale };
        var noise = new Option<double>("--noise-level") { Description = "SDE noise level η (0 = deterministic ODE sampling; log-probs need η > 0).", DefaultValueFactory = _ => 0.0 };
        var trajectory = new Option<bool>("--trajectory") { Description = "Also save trajectory.safetensors: latents, log_probs, timesteps, prev_sample_means (use with --noise-level > 0)." };
        var command = new Command("sample", "Generate images from prompts with a shapes pipeline folder (the bundled model by default).")
        {
            model, lora, prompt, seeds, firstSeed, output, steps, guidance, noise, trajectory,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            await Task.Yield();
            var folder = ModelLocator.Resolve(result.GetValue(model));
            if (!ModelLocator.IsShapes(folder))
                throw new ArgumentException($"'{folder}' is not a shapes pipeline; for diffusers folders use the library (OmniPipeline.Rollout with prompt embeddings).");
            var texts = result.GetValue(prompt) is { Length: > 0 } given ? given : ShapesWorld.HeldOut.Take(8).Select(p => p.Text).ToArray();
            foreach (var text in texts) ShapesPrompt.Parse(text).IfLeft(e => throw new ArgumentException(e.Message));
            var perPrompt = result.GetValue(seeds);
            if (perPrompt < 1) throw new ArgumentException($"--seeds must be ≥ 1, got {perPrompt}.");
            var rows = texts.SelectMany(t => Enumerable.Repeat(t, perPrompt)).ToList();
            var seedList = rows.Select((_, i) => result.GetValue(firstSeed) + i % perPrompt).ToList();
            var outDir = result.GetValue(output)!;
            Directory.CreateDirectory(outDir);

            using var shapes = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new ArgumentException(e.Message));
            if (result.GetValue(lora) is { } adapter)
                Omni.Models.Lora.LoraFiles.AttachFrom(shapes.Transformer, adapter, Omni.Effects.Random.Generators.Seeded(0));
            shapes.Eval();
            var eta = result.GetValue(noise);
            var config = shapes.ModelConfig(folder, steps: result.GetValue(steps), guidanceScale: result.GetValue(guidance),
                                            sde: new Omni.Algebra.Config.SdeSettings { NoiseLevel = eta, SdeType = SdeType.Sde });
            var pipeline = OmniPipelineBuilder.For(config).WithRegistries(ShapesAdapter.Register(BuiltInAdapters.Registries)).Build();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var embeddings = ShapesPromptEncoding.Encode(shapes.TextEncoder, rows).Match(e => e, e => throw new ArgumentException(e.Message));
            using var run = pipeline.Rollout(shapes.Transformer, embeddings, seedList);
            var images = RgbImage.FromTensor(ShapesImages.Decode(run.FinalLatents));
            for (var i = 0; i < images.Count; i++)
                ImageCodecs.SavePng(images[i], Path.Combine(outDir, $"{i:D3}-seed{seedList[i]}-{Slug(rows[i])}.png"));
            SampleGrid.Save(Path.Combine(outDir, "grid.png"), images, columns: perPrompt, padding: 2, scale: 3, background: 128);
            if (result.GetValue(trajectory))
            {
                var tensors = new Dictionary<string, Tensor> { ["latents"] = run.Latents, ["log_probs"] = run.LogProbs, ["timesteps"] = run.Timesteps };
                if (run.PrevSampleMeans is { } means) tensors["prev_sample_means"] = means;
                SafetensorsWriter.Write(Path.Combine(outDir, "trajectory.safetensors"), tensors,
                    new Dictionary<string, string> { ["prompts"] = System.Text.Json.JsonSerializer.Serialize(rows), ["seeds"] = string.Join(",", seedList), ["noise_level"] = eta.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
            var scores = rows.Select((t, i) => ShapesReward.Evaluate(ShapesPrompt.Parse(t).Match(p => p, e => throw new ArgumentException(e.Message)), images[i]).Total).ToList();
            Console.WriteLine($"wrote {images.Count} images and grid.png to {outDir} (mean shapes reward {scores.Average():F3})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Slug(string text) => string.Concat(text.Select(c => char.IsLetterOrDigit(c) ? c : '-'));
}
