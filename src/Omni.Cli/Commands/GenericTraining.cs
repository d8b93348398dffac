using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Cli.Cli;
using Omni.Cli.Distributed;
using Omni.Effects.Prompts;
using Omni.Facade.Configuration;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Training.Options;

namespace Omni.Cli.Commands;

/// <summary><c>omni train</c> on a diffusers folder (SD3.5, Qwen-Image, …) with precomputed prompt embeddings.</summary>
public static class GenericTraining
{
    /// <summary>The training options: the <c>training</c> section over <see cref="TrainingOptions"/>' defaults.</summary>
    public static LanguageExt.Validation<OmniError, TrainingOptions> Options(IConfiguration configuration) => CliConfiguration.Training(configuration, new TrainingOptions());

    /// <summary>Validates every setting, then builds and runs the training as one rank of <paramref name="session"/>; returns the exit code.</summary>
    public static async Task<int> Run(IConfiguration configuration, string runDirectory, IReadOnlyList<string> rewards, bool fresh,
                                      RankSession session, CancellationToken stop)
    {
        var problems = new List<OmniError>();
        var promptsPath = configuration["omni:prompts"];
        if (promptsPath is null)
            problems.Add(OmniError.Invalid("Training a diffusers folder needs precomputed prompt embeddings: --prompts prompts.safetensors (see README, 'Training a real model')."));
        else if (!File.Exists(promptsPath)) problems.Add(new OmniError(ErrorKind.NotFound, $"The prompt embeddings file '{promptsPath}' does not exist."));
        if (rewards.Count == 0) problems.Add(OmniError.Invalid("Name at least one reward: --reward jpeg_compressibility, or --reward https://scorer/score."));
        var parsedRewards = RewardSpecs.ParseAll(rewards, problems);
        var model = ModelConfigBinding.Bind(configuration);
        var options = Options(configuration);
        CliConfiguration.ThrowIfAny(problems, CliConfiguration.Problems(model), CliConfiguration.Problems(options));

        var config = model.Match(c => c, _ => throw new InvalidOperationException("validated above"));
        using var prompts = PromptEmbeddings.Load(promptsPath!);
        var builder = OmniTraining.From(OmniPipelineBuilder.For(config))
            .WithPrompts(prompts)
            .WithOptions(options.Match(o => o, _ => throw new InvalidOperationException("validated above")))
            .WriteTo(runDirectory);
        builder = config.Lora.Enabled ? builder.WithLora(config.Lora.Rank, config.Lora.Alpha, config.Lora.TargetModules) : builder.FullFineTuning();
        foreach (var (reward, weight) in parsedRewards) builder = builder.WithReward(reward, weight);
        if (fresh) builder = builder.StartFresh();
        if (session.Collectives is { } collectives) builder = builder.WithDataParallel(collectives, session.Sharding, RankSession.PrecisionFor(bf16Compute: false));
        using var run = builder.Build();
        var summary = await run.RunAsync(stop);
        var code = RunOutcome.Report(summary, speak: session.IsLeader);
        // A collective in a multi-rank run: every rank reaches it with the same code.
        if (code == ExitCodes.Ok) run.Export(Path.Combine(runDirectory, "final"));
        return code;
    }
}
