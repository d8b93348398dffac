using System.CommandLine;
using Omni.Cli.Cli;
using Omni.Shapes.Pipeline;

namespace Omni.Cli.Commands;

/// <summary><c>omni eval</c>: the held-out shapes reward of a pipeline folder.</summary>
public static class EvalCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seeds = new Option<int>("--seeds") { Description = "Samples per held-out prompt.", DefaultValueFactory = _ => ShapesEvaluation.DefaultSeedsPerPrompt };
        var firstSeed = new Option<long>("--first-seed") { Description = "First seed.", DefaultValueFactory = _ => 0 };
        var device = CommonOptions.Device();
        var command = new Command("eval", "Held-out shapes reward (count, colour, shape, position) of a shapes pipeline folder, e.g. runs/shapes/final-model.")
        {
            model, seeds, firstSeed, device,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            await Task.Yield();
            var backend = CliDevice.Select(result.GetValue(device));
            var folder = ModelLocator.Resolve(result.GetValue(model));
            if (!ModelLocator.IsShapes(folder)) throw new ArgumentException($"'{folder}' is not a shapes pipeline (model_index.json must name {ShapesPipeline.ClassName}).");
            if (result.GetValue(seeds) < 1) throw new ArgumentException($"--seeds must be ≥ 1, got {result.GetValue(seeds)}.");
            using var shapes = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new ArgumentException(e.Message)).To(backend.Device);
            shapes.Eval();
            var score = ShapesEvaluation.HeldOutReward(shapes, result.GetValue(seeds), result.GetValue(firstSeed));
            Console.WriteLine($"{folder}: held-out reward {ShapesJob.Describe(score)}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
