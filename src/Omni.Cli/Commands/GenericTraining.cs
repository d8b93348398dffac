using Microsoft.Extensions.Configuration;
using Omni.Cli.Cli;
using Omni.Effects.Prompts;
using Omni.Facade.Configuration;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Algebra.Devices;
using Omni.Training.Options;

namespace Omni.Cli.Commands;

/// <summary><c>omni train</c> on a diffusers folder (SD3.5, Qwen-Image, …) with precomputed prompt embeddings.</summary>
public static class GenericTraining
{
    /// <summary>Builds and runs the training; returns the exit code.</summary>
    public static async Task<int> Run(IConfiguration configuration, string runDirectory, IReadOnlyList<string> rewards, bool fresh,
                                      Omni.Effects.Devices.BackendInfo backend, CancellationToken stop)
    {
        var promptsPath = configuration["omni:prompts"]
            ?? throw new ArgumentException("Training a diffusers folder needs precomputed prompt embeddings: --prompts prompts.safetensors (see README, 'Training a real model').");
        if (!File.Exists(promptsPath)) throw new FileNotFoundException($"The prompt embeddings file '{promptsPath}' does not exist.");
        if (rewards.Count == 0) throw new ArgumentException("Name at least one reward: --reward jpeg_compressibility, or --reward https://scorer/score.");
        var model = ModelConfigBinding.Bind(configuration).Match(c => c, e => throw new Omni.Algebra.Errors.OmniException([.. e]));
        var options = CliConfiguration.Training(configuration, new TrainingOptions());
        var builder = OmniTraining.From(OmniPipelineBuilder.For(model).OnDevice(CliDevice.Settings(configuration)))
            .WithPrompts(PromptEmbeddings.Load(promptsPath))
            .WithOptions(options)
            .WriteTo(runDirectory);
        builder = model.Lora.Enabled ? builder.WithLora(model.Lora.Rank, model.Lora.Alpha, model.Lora.TargetModules) : builder.FullFineTuning();
        foreach (var spec in rewards)
        {
            var (reward, weight) = RewardSpecs.Parse(spec);
            builder = builder.WithReward(reward, weight);
        }
        if (fresh) builder = builder.StartFresh();
        using var run = builder.Build();
        Console.WriteLine($"training on {backend.DeviceName} in {options.Precision.Name()}");
        var summary = await run.RunAsync(stop);
        run.Export(Path.Combine(runDirectory, "final"));
        return summary.Cancelled ? ExitCodes.Interrupted : ExitCodes.Ok;
    }
}
