using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Effects.Devices;
using Omni.Effects.Prompts;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Lora;
using Omni.Training.Options;
using Omni.Training.Run;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Facade.Training;

/// <summary>
/// The fluent way to set up a FlowGRPO-family run:
/// <code>
/// var run = OmniTraining.FromFolder("models/sd35")
///     .WithPrompts(PromptEmbeddings.Load("prompts.safetensors"))
///     .WithReward(JpegRewards.Compressibility)
///     .WithLora(rank: 32, alpha: 64)
///     .WithOptions(o => o with { Steps = 200, GroupSize = 8 })
///     .WriteTo("runs/sd35-jpeg")
///     .Build();
/// await run.RunAsync(cancellation);
/// </code>
/// Immutable: every method returns a new builder. <see cref="Build"/> loads the model and reports every problem at once.
/// </summary>
public sealed record OmniTrainingBuilder
{
    internal OmniTrainingBuilder(OmniPipelineBuilder pipeline) => Pipeline = pipeline;

    /// <summary>The pipeline (model folder, adapter key, sampling settings).</summary>
    public OmniPipelineBuilder Pipeline { get; init; }

    /// <summary>Training options.</summary>
    public TrainingOptions Options { get; init; } = new();

    /// <summary>The training prompts.</summary>
    public PromptEmbeddings? Prompts { get; init; }

    /// <summary>Weighted rewards.</summary>
    public ImmutableArray<(RewardFunction Reward, double Weight)> Rewards { get; init; } = [];

    /// <summary>LoRA settings; null trains the full model.</summary>
    public LoraSettings? Lora { get; init; } = new() { Rank = 32, Alpha = 64, TargetModules = [.. LoraTargets.FlowGrpo] };

    /// <summary>Seed of the LoRA A-matrix initialisation.</summary>
    public long LoraSeed { get; init; }

    /// <summary>Latents → images in [0, 1]; null uses the folder's VAE.</summary>
    public Func<Tensor, Tensor>? Decoder { get; init; }

    /// <summary>A module to train instead of the folder's transformer (e.g. one built in code).</summary>
    public nn.Module? Module { get; init; }

    /// <summary>The frozen reference policy for KL with full fine-tuning (defaults to a second load of the folder's transformer).</summary>
    public Omni.Algebra.Adapters.IDenoiser? Reference { get; init; }

    /// <summary>The run folder.</summary>
    public string RunDirectory { get; init; } = "runs/omni";

    /// <summary>Extra observers (besides the defaults chosen by <see cref="DefaultObservers"/>).</summary>
    public ImmutableArray<ITrainingObserver> Observers { get; init; } = [];

    /// <summary>Attach the standard observers: JSON-lines metrics, console progress, plots and sample grids in the run folder.</summary>
    public bool DefaultObservers { get; init; } = true;

    /// <summary>Continue from the run folder's latest checkpoint if it has one.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Sets the training prompts.</summary>
    public OmniTrainingBuilder WithPrompts(PromptEmbeddings prompts) => this with { Prompts = prompts };

    /// <summary>Adds a reward with a weight (several rewards are summed with their weights).</summary>
    public OmniTrainingBuilder WithReward(RewardFunction reward, double weight = 1.0) => this with { Rewards = Rewards.Add((reward, weight)) };

    /// <summary>Changes training options.</summary>
    public OmniTrainingBuilder WithOptions(Func<TrainingOptions, TrainingOptions> change) => this with { Options = change(Options) };

    /// <summary>Replaces the training options.</summary>
    public OmniTrainingBuilder WithOptions(TrainingOptions options) => this with { Options = options };

    /// <summary>Changes the pipeline (steps, size, guidance, SDE).</summary>
    public OmniTrainingBuilder WithPipeline(Func<OmniPipelineBuilder, OmniPipelineBuilder> change) => this with { Pipeline = change(Pipeline) };

    /// <summary>Trains LoRA adapters (FlowGRPO's default targets unless given).</summary>
    public OmniTrainingBuilder WithLora(int rank, double alpha, IEnumerable<string>? targets = null, long seed = 0) =>
        this with { Lora = new LoraSettings { Rank = rank, Alpha = alpha, TargetModules = [.. targets ?? LoraTargets.FlowGrpo] }, LoraSeed = seed };

    /// <summary>Trains every parameter of the transformer.</summary>
    public OmniTrainingBuilder FullFineTuning() => this with { Lora = null };

    /// <summary>Trains on <paramref name="device"/> (<c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>): the policy, the KL
    /// reference, the decoder and the prompt embeddings are moved there at <see cref="Build"/>. See
    /// <see cref="OmniPipelineBuilder.OnDevice(string)"/> for when the backend comes up.</summary>
    public OmniTrainingBuilder OnDevice(string device) => WithPipeline(p => p.OnDevice(device));

    /// <summary>Trains on the requested device.</summary>
    public OmniTrainingBuilder OnDevice(Omni.Algebra.Devices.DeviceRequest device) => WithPipeline(p => p.OnDevice(device));

    /// <summary>Trains with these device settings (device, CUDA libtorch folder, TF32).</summary>
    public OmniTrainingBuilder OnDevice(Omni.Algebra.Devices.DeviceSettings settings) => WithPipeline(p => p.OnDevice(settings));

    /// <summary>Sets the training arithmetic: float32, or bf16-mixed (float32 master weights, bfloat16 transformer compute).</summary>
    public OmniTrainingBuilder WithPrecision(Omni.Algebra.Devices.TrainingPrecision precision) => WithOptions(o => o with { Precision = precision });

    /// <summary>Adds β·KL to the reference policy.</summary>
    public OmniTrainingBuilder WithKl(double coefficient) => WithOptions(o => o with { UseKl = true, KlCoefficient = coefficient });

    /// <summary>Decodes latents with a custom function (pixel-space models, custom VAEs).</summary>
    public OmniTrainingBuilder WithDecoder(Func<Tensor, Tensor> decoder) => this with { Decoder = decoder };

    /// <summary>Trains this module rather than the folder's transformer.</summary>
    public OmniTrainingBuilder WithModule(nn.Module module) => this with { Module = module };

    /// <summary>Uses <paramref name="reference"/> as the frozen policy of the KL term (full fine-tuning).</summary>
    public OmniTrainingBuilder WithReference(Omni.Algebra.Adapters.IDenoiser reference) => this with { Reference = reference };

    /// <summary>Writes checkpoints, metrics and pictures under <paramref name="runDirectory"/>.</summary>
    public OmniTrainingBuilder WriteTo(string runDirectory) => this with { RunDirectory = runDirectory };

    /// <summary>Adds an observer.</summary>
    public OmniTrainingBuilder ObserveWith(ITrainingObserver observer) => this with { Observers = Observers.Add(observer) };

    /// <summary>Turns the standard observers off (for embedding in other hosts).</summary>
    public OmniTrainingBuilder WithoutDefaultObservers() => this with { DefaultObservers = false };

    /// <summary>Starts fresh even if the run folder has a checkpoint (it is then overwritten as the run goes).</summary>
    public OmniTrainingBuilder StartFresh() => this with { Resume = false };

    /// <summary>Loads the model (training runs in float32 whatever the folder's dtype), attaches LoRA, wires rewards and observers, restores a checkpoint when resuming.</summary>
    /// <exception cref="OmniException">Every problem found, each with a precise message.</exception>
    public OmniTrainingRun Build()
    {
        var problems = new List<OmniError>();
        if (Prompts is null) problems.Add(OmniError.Invalid("No prompts: call WithPrompts(PromptEmbeddings.Load(\"prompts.safetensors\"))."));
        if (Rewards.IsEmpty) problems.Add(OmniError.Invalid("No reward: call WithReward(...) at least once."));
        if (Lora is null && Options.UseKl && Reference is null && Module is not null)
            problems.Add(OmniError.Invalid("KL with full fine-tuning of a module given by WithModule needs WithReference(frozen copy)."));
        problems.AddRange(TrainingOptionsRules.Validate(Options).Match(_ => [], e => e.ToList()));
        // LanguageExt's Match refuses null results, so the failure branch records its errors into a list instead.
        var built = Pipeline.TryBuild();
        built.IfFail(e => problems.AddRange(e));
        if (problems.Count > 0) throw new OmniException([.. problems]);
        var pipeline = built.IfFail(_ => throw new InvalidOperationException("unreachable"));

        // Everything the run touches lives on the pipeline's device; noise is still drawn on the CPU and moved.
        var device = pipeline.Device;
        var module = (Module ?? (nn.Module)pipeline.LoadDenoiser(ScalarType.Float32)).MoveTo(device);
        if (Lora is { } lora)
        {
            LoraAdapters.Attach(module, lora, Generators.Seeded(LoraSeed));
            LoraAdapters.TrainOnlyAdapters(module);
        }
        var decode = Decoder ?? FolderDecoder.For(pipeline.Config.Path, device);
        var combined = Omni.Rewards.MultiReward.Combine([.. Rewards]);
        Func<RewardBatch, CancellationToken, Task<RewardEvaluation>> reward = combined.Evaluate;
        var policy = new Policy
        {
            Module = module, Config = pipeline.Config, Registries = pipeline.Registries, Schedule = pipeline.Schedule, TrainsLora = Lora is not null,
            Reference = Lora is null && Options.UseKl ? OnDevice(Reference, device) ?? (Module is null ? pipeline.LoadDenoiser(ScalarType.Float32) : null) : null,
        };
        Directory.CreateDirectory(RunDirectory);
        File.WriteAllText(Path.Combine(RunDirectory, "config.json"), JsonSerializer.Serialize(new
        {
            model = new
            {
                pipeline.Config.Path, pipeline.Config.Architecture, pipeline.Config.Algorithm, pipeline.Config.Pipeline,
                Sde = new
                {
                    pipeline.Config.Sde.NoiseLevel, pipeline.Config.Sde.SdeType, pipeline.Config.Sde.WindowSize,
                    WindowRange = pipeline.Config.Sde.WindowRange is { } range ? new[] { range.Start, range.End } : null,
                },
            },
            lora = Lora, training = Options, rewards = Rewards.Select(r => new { r.Reward.Name, r.Weight }),
        }, new JsonSerializerOptions { WriteIndented = true, Converters = { new JsonStringEnumConverter() } }));
        var observers = DefaultObservers ? StandardObservers.For(RunDirectory, Options).AddRange(Observers) : Observers;
        var setup = new TrainingSetup
        {
            Policy = policy, Prompts = Prompts!.To(device), Reward = reward, Decode = decode, Options = Options,
            RunDirectory = RunDirectory, Observers = observers, Resume = Resume,
        };
        return new OmniTrainingRun(FlowGrpoTrainer.Create(setup), policy, pipeline, Lora);
    }

    private static Omni.Algebra.Adapters.IDenoiser? OnDevice(Omni.Algebra.Adapters.IDenoiser? denoiser, Device device)
    {
        if (denoiser is nn.Module module) module.MoveTo(device);
        return denoiser;
    }
}

/// <summary>Entry points of the training facade.</summary>
public static class OmniTraining
{
    /// <summary>Starts a training setup on a diffusers pipeline folder.</summary>
    public static OmniTrainingBuilder FromFolder(string folder) => new(OmniPipeline.FromFolder(folder));

    /// <summary>Starts a training setup on a configured pipeline builder.</summary>
    public static OmniTrainingBuilder From(OmniPipelineBuilder pipeline) => new(pipeline);
}
