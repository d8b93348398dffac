using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Cli.Cli;
using Omni.Effects.Prompts;
using Omni.Facade.Configuration;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Training.Options;
using static LanguageExt.Prelude;

namespace Omni.Cli.Commands;

/// <summary><c>omni train</c> on a diffusers folder (SD3.5, Qwen-Image, …) with precomputed prompt embeddings.</summary>
public static class GenericTraining
{
    /// <summary>Validates every setting, then builds and runs the training; returns the exit code.</summary>
    public static async Task<int> Run(IConfiguration configuration, string runDirectory, IReadOnlyList<string> rewards, bool fresh, CancellationToken stop)
    {
        var problems = new List<OmniError>();
        var promptsPath = configuration["omni:prompts"];
        if (promptsPath is null)
            problems.Add(OmniError.Invalid("Training a diffusers folder needs precomputed prompt embeddings: --prompts prompts.safetensors (see README, 'Training a real model')."));
        else if (!File.Exists(promptsPath)) problems.Add(new OmniError(ErrorKind.NotFound, $"The prompt embeddings file '{promptsPath}' does not exist."));
        if (rewards.Count == 0) problems.Add(OmniError.Invalid("Name at least one reward: --reward jpeg_compressibility, or --reward https://scorer/score."));
        var parsedRewards = RewardSpecs.ParseAll(rewards, problems);
        var model = ModelConfigBinding.Bind(configuration);
        var options = CliConfiguration.Training(configuration, new TrainingOptions());
        var teacher = CliConfiguration.Teacher(configuration, problems);
        // omni:lora (what --lora sets) starts from a trained adapter in diffusers' or PEFT's layout.
        var adapter = configuration["omni:lora"] is { Length: > 0 } given ? given : null;
        if (adapter is not null) Omni.Models.Lora.LoraFiles.Read(adapter).IfLeft(problems.Add);
        // The objectives and what they need (a reference — the folder's transformer, loaded again —, the teacher) are checked
        // here with the rest; the builder checks them again, with the run folder, before any weights load.
        var objectives = model.Match(
            Succ: config => OmniPipelineBuilder.For(config).TryBuild().Bind(pipeline => ObjectivePlan.Resolve(options.Options, config.Algorithm,
                pipeline.Registries.Objectives, new ObjectiveResources(adapter is not null || config.Lora.Enabled, HasReference: true, HasTeacher: teacher is not null))),
            Fail: e => Fail<OmniError, ObjectivePlan>(e));
        CliConfiguration.ThrowIfAny(problems, CliConfiguration.Problems(model), options.Problems, CliConfiguration.Problems(objectives));

        var config = model.Match(c => c, _ => throw new InvalidOperationException("validated above"));
        using var prompts = PromptEmbeddings.Load(promptsPath!);
        using var loggers = CliLogging.Create(configuration);
        var builder = OmniTraining.From(OmniPipelineBuilder.For(config))
            .WithLogging(loggers)
            .ObserveWith(new Omni.Training.Observers.ProgressObserver(Console.Out, !Console.IsOutputRedirected))
            .WithPrompts(prompts)
            .WithOptions(options.Options)
            .WriteTo(runDirectory);
        builder = adapter is not null ? builder.WithLoraWeights(adapter)
            : config.Lora.Enabled ? builder.WithLora(config.Lora.Rank, config.Lora.Alpha, config.Lora.TargetModules)
            : builder.FullFineTuning();
        foreach (var (reward, weight) in parsedRewards) builder = builder.WithReward(reward, weight);
        if (teacher is not null) builder = builder.WithTeacher(teacher);
        if (fresh) builder = builder.StartFresh();
        using var run = builder.Build();
        var summary = await run.RunAsync(stop);
        var code = RunOutcome.Report(summary);
        if (code == ExitCodes.Ok) run.Export(Path.Combine(runDirectory, "final"));
        return code;
    }
}
