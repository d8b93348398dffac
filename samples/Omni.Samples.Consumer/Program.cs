// Omni from NuGet packages: build an OmniPipeline from the bundled shapes model, sample with it, then train it for two
// steps with a reward written here in C#.
//
//   dotnet pack Functional.sln -c Release                  (from the repository root: writes artifacts/packages)
//   dotnet run -c Release --project samples/Omni.Samples.Consumer [-- <shapes model folder or ""> <run folder>]
using Microsoft.Extensions.Logging;
using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Algebra.Sde;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Models;
using Omni.Reporting;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;

var folder = args is [{ Length: > 0 } given, ..] ? given
    : ShapesPipelineFolder.Bundled ?? throw new DirectoryNotFoundException("The Omni.Shapes package puts models/omni-shapes-tiny beside the app; it is missing.");
var runDirectory = args is [_, { Length: > 0 } runFolder, ..] ? runFolder : Path.Combine("runs", "consumer-sample");

// Omni logs what it loads and every training step; here to the console, one line each.
using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));

using var shapes = ShapesPipelineFolder.Load(folder).OrThrow();
shapes.Eval();

// The pipeline: the folder's configuration with an SDE sampler (η 0.7, so every step has a log-probability), the shapes
// model's adapters added to the built-in ones.
var pipelineBuilder = OmniPipelineBuilder.For(shapes.ModelConfig(folder, steps: 10))
    .WithRegistries(ShapesAdapter.Register(BuiltInAdapters.Registries))
    .WithSde(SdeType.Sde, noiseLevel: 0.7)
    .WithLogging(loggers);
var pipeline = pipelineBuilder.Build();

// Sampling: one trajectory (latents, log-probs, timesteps), decoded with the architecture's own decoder, scored by the
// shapes reward.
string[] texts = ["two red circles above a blue square", ShapesWorld.HeldOut[0].Text];
var prompts = ShapesPromptEncoding.Encode(shapes.TextEncoder, texts).OrThrow();
using (var trajectory = pipeline.Rollout(shapes.Transformer, prompts, seeds: [1, 2]))
{
    var decode = pipeline.LoadDecoder()!;                                 // the shapes adapter decodes pixel space itself
    using var decoded = decode(trajectory.FinalLatents);
    var images = RgbImage.FromTensor(decoded);
    SampleGrid.Save(Path.Combine(Directory.CreateDirectory(runDirectory).FullName, "samples.png"), images, columns: 2, padding: 2, scale: 3);
    for (var i = 0; i < texts.Length; i++)
        Console.WriteLine($"sampled \"{texts[i]}\": shapes reward {ShapesReward.Evaluate(ShapesPrompt.Parse(texts[i]).OrThrow(), images[i]).Total:F3}, "
                          + $"log-prob of step 0 {trajectory.LogProbs[i, 0].item<float>():F2}");
}

// A reward is a value: here, the share of pixels whose red channel dominates.
var redness = RewardFunction.PerSample("redness", (image, prompt, metadata) =>
{
    var red = 0;
    for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
            if (image[x, y] is var (r, g, b) && r > g + 40 && r > b + 40) red++;
    return red / (float)(image.Width * image.Height);
});

// Training: two Flow-GRPO steps with LoRA adapters on every linear layer (the adapter decodes: pixel space).
var training = ShapesPromptEncoding.Encode(shapes.TextEncoder, ShapesWorld.Training.Take(64).Select(p => p.Text).ToList()).OrThrow();
using var run = OmniTraining.From(pipelineBuilder)
    .WithModule(shapes.Transformer)
    .WithPrompts(training)
    .WithReward(redness)
    .WithLora(rank: 4, alpha: 4, targets: ["all-linear"])
    .WithOptions(o => o with { Steps = 2, PromptsPerStep = 4, GroupSize = 4, MicroBatchSize = 16, LearningRate = 1e-4, UseKl = false })
    .WriteTo(runDirectory)
    .StartFresh()
    .Build();
var summary = await run.RunAsync();
var adapter = run.Export(Path.Combine(runDirectory, "final"));
Console.WriteLine($"trained {summary.StepsCompleted} steps; metrics in {Path.Combine(runDirectory, "metrics.jsonl")}; adapter {adapter}");
return summary.StepsCompleted == 2 ? 0 : 1;
