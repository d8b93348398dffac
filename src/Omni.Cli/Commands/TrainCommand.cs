using System.CommandLine;
using Omni.Cli.Cli;

namespace Omni.Cli.Commands;

/// <summary><c>omni train</c>: RL fine-tuning with any registered objective (the bundled shapes model by default).</summary>
public static class TrainCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var set = CommonOptions.Set();
        var seed = CommonOptions.Seed();
        var run = new Option<string?>("--run", "-o") { Description = "Run folder for checkpoints, metrics and pictures (default runs/shapes, or runs/<model name>). An existing run resumes." };
        var steps = new Option<int?>("--steps") { Description = "Training steps." };
        var prompts = new Option<string?>("--prompts") { Description = "Prompt embeddings (safetensors: prompt_embeds, masks, negatives, extras such as pooled_prompt_embeds) — for diffusers folders." };
        var reward = new Option<string[]>("--reward") { Description = "Reward: jpeg_compressibility, jpeg_incompressibility, shapes or an http(s) scorer URL, optionally *weight (repeatable)." };
        var lora = CommonOptions.Lora();
        var fresh = new Option<bool>("--fresh") { Description = "Ignore the run folder's checkpoint and start over." };
        var command = new Command("train", "RL fine-tuning: Flow-GRPO, GRPO-Guard, Flow-DPPO, DPO, DiffusionNFT or distillation (--set actor_rollout_ref:model:algorithm=…). With no arguments: FlowGRPO on the bundled shapes model (≈10 min on 2 cores).")
        {
            model, config, set, seed, run, steps, prompts, reward, lora, fresh,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            var folder = ModelLocator.Resolve(result.GetValue(model));
            var configuration = CliConfiguration.Build(result.GetValue(config),
                CommonOptions.Pairs(("actor_rollout_ref:model:path", folder), ("training:Steps", result.GetValue(steps)),
                                    ("training:Seed", result.GetValue(seed)), ("omni:prompts", result.GetValue(prompts)), ("omni:lora", result.GetValue(lora)))
                    .Concat(CliConfiguration.ParseSettings(result.GetValue(set) ?? [])));
            var runDirectory = result.GetValue(run)
                ?? Path.Combine("runs", ModelLocator.IsShapes(folder) ? "shapes" : new DirectoryInfo(folder).Name);
            using var interrupt = new Interrupt();
            return ModelLocator.IsShapes(folder)
                ? await ShapesJob.Train(configuration, folder, runDirectory, result.GetValue(reward) ?? [], result.GetValue(fresh), interrupt.Token)
                : await GenericTraining.Run(configuration, runDirectory, result.GetValue(reward) ?? [], result.GetValue(fresh), interrupt.Token);
        }));
        return command;
    }
}
