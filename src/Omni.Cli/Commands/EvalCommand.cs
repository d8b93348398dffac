using System.CommandLine;
using Omni.Cli.Cli;
using Omni.Shapes.Pipeline;

namespace Omni.Cli.Commands;

/// <summary><c>omni eval</c>: the held-out shapes reward of a pipeline folder, optionally against a baseline folder.</summary>
public static class EvalCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seeds = new Option<int>("--seeds") { Description = "Samples per held-out prompt.", DefaultValueFactory = _ => ShapesEvaluation.DefaultSeedsPerPrompt };
        var firstSeed = new Option<long>("--first-seed") { Description = "First seed (omni train evaluates with seeds from 0; pick another range to check a gain on noise it never saw).", DefaultValueFactory = _ => 0 };
        var baseline = new Option<string?>("--baseline", "-b") { Description = "A second shapes folder (e.g. models/omni-shapes-tiny) evaluated on the same prompts and seeds; prints the paired gain of --model over it with its 95% interval." };
        var command = new Command("eval", "Held-out shapes reward (count, colour, shape, position) of a shapes pipeline folder, e.g. runs/shapes/final-model.")
        {
            model, seeds, firstSeed, baseline,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            await Task.Yield();
            var folder = ModelLocator.Resolve(result.GetValue(model));
            var baselineFolder = result.GetValue(baseline) is { } given ? ModelLocator.Resolve(given) : null;
            foreach (var f in new[] { folder, baselineFolder }.OfType<string>())
                if (!ModelLocator.IsShapes(f)) throw new ArgumentException($"'{f}' is not a shapes pipeline (model_index.json must name {ShapesPipeline.ClassName}).");
            if (result.GetValue(seeds) < 1) throw new ArgumentException($"--seeds must be ≥ 1, got {result.GetValue(seeds)}.");
            var score = Evaluate(folder, result.GetValue(seeds), result.GetValue(firstSeed));
            if (baselineFolder is null)
            {
                Console.WriteLine($"{folder}: held-out reward {ShapesJob.Describe(score)}");
                return ExitCodes.Ok;
            }
            var reference = Evaluate(baselineFolder, result.GetValue(seeds), result.GetValue(firstSeed));
            Console.WriteLine($"{baselineFolder}: held-out reward {ShapesJob.Describe(reference)}");
            Console.WriteLine($"{folder}: held-out reward {ShapesJob.Describe(score)}");
            Console.WriteLine($"change: {ShapesJob.DescribeGain(PairedGain.Of(reference.Totals, score.Totals), reference.Total)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static ShapesEvaluationResult Evaluate(string folder, int seedsPerPrompt, long firstSeed)
    {
        using var shapes = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new ArgumentException(e.Message));
        shapes.Eval();
        return ShapesEvaluation.HeldOutReward(shapes, seedsPerPrompt, firstSeed);
    }
}
