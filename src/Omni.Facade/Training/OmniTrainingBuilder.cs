using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using LanguageExt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Effects.Prompts;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Models.Lora;
using Omni.Training.Options;
using Omni.Training.Run;
using TorchSharp;
using static LanguageExt.Prelude;
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
    internal OmniTrainingBuilder(OmniPipelineBuilder pipeline) => (Pipeline, Loggers) = (pipeline, pipeline.Loggers);

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

    /// <summary>An adapter file or folder (diffusers or PEFT layout) to start the LoRA from; its layers, rank and alpha replace <see cref="Lora"/>.</summary>
    public string? LoraWeights { get; init; }

    /// <summary>Latents → images in [0, 1]; null uses the adapter's choice (<see cref="Omni.Algebra.Adapters.TrainingAdapter.BuildDecoder"/>: the folder's VAE by default).</summary>
    public Func<Tensor, Tensor>? Decoder { get; init; }

    /// <summary>A module to train instead of the folder's transformer (e.g. one built in code).</summary>
    public nn.Module? Module { get; init; }

    /// <summary>
    /// The frozen reference policy of full fine-tuning (KL, Diffusion-DPO, DiffusionNFT's <c>ref_kl_coef</c>); defaults to a second
    /// load of the folder's transformer when the objective needs one.
    /// </summary>
    public IDenoiser? Reference { get; init; }

    /// <summary>The distillation teacher, when given as a module.</summary>
    public IDenoiser? Teacher { get; init; }

    /// <summary>The distillation teacher's pipeline folder (its transformer is loaded frozen, in float32), when given as a folder.</summary>
    public string? TeacherFolder { get; init; }

    /// <summary>Where the run reports (progress, checkpoints, skipped steps, what was loaded); the pipeline builder's by default.</summary>
    public ILoggerFactory Loggers { get; init; } = NullLoggerFactory.Instance;

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

    /// <summary>
    /// Trains with the loss registered as <paramref name="loss"/> (<see cref="Objective"/> names them: flow_grpo, grpo_guard,
    /// flow_dppo, dpo, diffusion_nft, distill_kl, distill_fm_mse), whatever the algorithm's recipe says; the loss decides the
    /// training flow. <paramref name="configure"/> sets its options (e.g. <c>o =&gt; o with { DpoBeta = 100 }</c>).
    /// </summary>
    public OmniTrainingBuilder WithObjective(string loss, Func<TrainingOptions, TrainingOptions>? configure = null) =>
        WithOptions(o => (configure ?? (x => x))(o with { LossMode = loss }));

    /// <summary>Distils from <paramref name="teacher"/> (a frozen module with the student's inputs).</summary>
    public OmniTrainingBuilder WithTeacher(IDenoiser teacher) => this with { Teacher = teacher, TeacherFolder = null };

    /// <summary>Distils from the transformer of the pipeline folder <paramref name="folder"/> (same pipeline family as the student).</summary>
    public OmniTrainingBuilder WithTeacher(string folder) => this with { TeacherFolder = folder, Teacher = null };

    /// <summary>Trains LoRA adapters (FlowGRPO's default targets unless given).</summary>
    public OmniTrainingBuilder WithLora(int rank, double alpha, IEnumerable<string>? targets = null, long seed = 0) =>
        this with { Lora = new LoraSettings { Rank = rank, Alpha = alpha, TargetModules = [.. targets ?? LoraTargets.FlowGrpo] }, LoraSeed = seed };

    /// <summary>
    /// Starts from a trained LoRA adapter (<c>pytorch_lora_weights.safetensors</c>, <c>adapter_model.safetensors</c> or a
    /// folder with either): its layers, rank and alpha are used, and training continues from its weights.
    /// </summary>
    public OmniTrainingBuilder WithLoraWeights(string fileOrFolder) =>
        this with { LoraWeights = fileOrFolder };

    /// <summary>Trains every parameter of the transformer.</summary>
    public OmniTrainingBuilder FullFineTuning() => this with { Lora = null, LoraWeights = null };

    /// <summary>Adds β·KL to the reference policy.</summary>
    public OmniTrainingBuilder WithKl(double coefficient) => WithOptions(o => o with { UseKl = true, KlCoefficient = coefficient });

    /// <summary>Decodes latents with a custom function (pixel-space models, custom VAEs).</summary>
    public OmniTrainingBuilder WithDecoder(Func<Tensor, Tensor> decoder) => this with { Decoder = decoder };

    /// <summary>Trains this module rather than the folder's transformer.</summary>
    public OmniTrainingBuilder WithModule(nn.Module module) => this with { Module = module };

    /// <summary>Uses <paramref name="reference"/> as the frozen reference policy of full fine-tuning (KL term, Diffusion-DPO, DiffusionNFT's reference term).</summary>
    public OmniTrainingBuilder WithReference(IDenoiser reference) => this with { Reference = reference };

    /// <summary>Reports through <paramref name="loggers"/> (also used for the pipeline's build).</summary>
    public OmniTrainingBuilder WithLogging(ILoggerFactory loggers) =>
        this with { Loggers = loggers ?? throw new ArgumentNullException(nameof(loggers)), Pipeline = Pipeline.WithLogging(loggers) };

    /// <summary>Writes checkpoints, metrics and pictures under <paramref name="runDirectory"/>.</summary>
    public OmniTrainingBuilder WriteTo(string runDirectory) => this with { RunDirectory = runDirectory };

    /// <summary>Adds an observer.</summary>
    public OmniTrainingBuilder ObserveWith(ITrainingObserver observer) => this with { Observers = Observers.Add(observer) };

    /// <summary>Turns the standard observers off (for embedding in other hosts).</summary>
    public OmniTrainingBuilder WithoutDefaultObservers() => this with { DefaultObservers = false };

    /// <summary>Starts fresh even if the run folder has a checkpoint (it is then overwritten as the run goes).</summary>
    public OmniTrainingBuilder StartFresh() => this with { Resume = false };

    /// <summary>
    /// Checks everything that can be checked without loading a model or writing a file — prompts, rewards, every training
    /// option, the pipeline folder and configuration, the adapters and objectives (and what they need: a reference, a
    /// teacher, group sizes), the teacher folder, and whether the run folder's checkpoint can be resumed with these
    /// settings — and reports every problem at once.
    /// </summary>
    /// <exception cref="OmniException">Every problem found, each with a precise message.</exception>
    public void Validate() => Check().Match(_ => { }, problems => throw new OmniException([.. problems]));

    // What a build starts from once checked.
    private sealed record Checked(OmniPipeline Pipeline, ObjectivePlan Objectives, LoraFile? Adapter);

    // The pipeline, the run's resolved objectives and the LoRA adapter to start from, or every problem.
    private Validation<OmniError, Checked> Check()
    {
        var problems = new List<OmniError>();
        var adapter = LoraWeights is null ? null : LoraFiles.Read(LoraWeights).Match(a => a, e => { problems.Add(e); return null!; });
        if (Prompts is null) problems.Add(OmniError.Invalid("No prompts: call WithPrompts(PromptEmbeddings.Load(\"prompts.safetensors\"))."));
        if (Rewards.IsEmpty) problems.Add(OmniError.Invalid("No reward: call WithReward(...) at least once."));
        if (TeacherFolder is not null && !Directory.Exists(TeacherFolder))
            problems.Add(new OmniError(ErrorKind.NotFound, $"The teacher folder '{TeacherFolder}' does not exist."));
        var built = Pipeline.TryBuild();
        // With a pipeline the preflight checks the options, adapters and objectives among the rest; without one, the options are still checked.
        var resolved = built.Bind(pipeline => Preflight(pipeline).Check().Map(run => new Checked(pipeline, run.Objectives, adapter)));
        problems.AddRange(built.Match(
            Succ: _ => resolved.Match(Succ: _ => [], Fail: e => e.ToList()),
            Fail: e => [.. e, .. TrainingOptionsRules.Validate(Options).Match(Succ: _ => [], Fail: o => o.ToList())]));
        return problems.Count == 0 ? resolved : Fail<OmniError, Checked>(Seq(problems.Distinct()));
    }

    private TrainingPreflight Preflight(OmniPipeline pipeline) => new()
    {
        Options = Options, Config = pipeline.Config, Schedule = pipeline.Schedule, Registries = pipeline.Registries,
        Objectives = pipeline.Registries.Objectives, TrainsLora = Lora is not null || LoraWeights is not null,
        // Full fine-tuning loads a frozen copy of the folder's transformer as the reference unless one is given (or WithModule replaced it).
        HasReference = Reference is not null || Module is null, HasTeacher = Teacher is not null || TeacherFolder is not null, PromptCount = Prompts?.Count ?? 0, RunDirectory = RunDirectory, Resume = Resume,
    };

    /// <summary>
    /// Validates everything first (<see cref="Validate"/>), then loads the model (training runs in float32 whatever the
    /// folder's dtype), attaches LoRA, wires rewards and observers and restores a checkpoint when resuming; the run's
    /// <c>config.json</c> is written only once the run exists, so a refused run leaves the folder as it was. Modules this
    /// call loaded are disposed if it fails.
    /// </summary>
    /// <exception cref="OmniException">Every problem found, each with a precise message.</exception>
    public OmniTrainingRun Build()
    {
        var (pipeline, objectives, adapter) = Check().Match(p => p, problems => throw new OmniException([.. problems]));
        var loaded = new List<IDisposable>();
        try
        {
            var module = Module ?? Owned((nn.Module)pipeline.LoadDenoiser(ScalarType.Float32), loaded);
            var lora = adapter is not null ? LoraFiles.AttachFrom(module, adapter.Path, Generators.Seeded(LoraSeed)) : Lora;
            if (lora is not null)
            {
                if (adapter is null) LoraAdapters.Attach(module, lora, Generators.Seeded(LoraSeed));
                LoraAdapters.TrainOnlyAdapters(module);
            }
            var reference = lora is null && objectives.NeedsReference(Options)
                ? Reference ?? (IDenoiser)Owned((nn.Module)pipeline.LoadDenoiser(ScalarType.Float32), loaded)
                : null;
            var teacher = objectives.NeedsTeacher ? Teacher ?? (IDenoiser)Owned(LoadTeacher(pipeline), loaded) : null;
            var policy = new Policy
            {
                Module = module, Config = pipeline.Config, Registries = pipeline.Registries, Schedule = pipeline.Schedule,
                TrainsLora = lora is not null, Reference = reference, Teacher = teacher,
            };
            var decode = Decoder ?? pipeline.LoadDecoder();
            var combined = Omni.Rewards.MultiReward.Combine([.. Rewards]);
            var setup = new TrainingSetup
            {
                Policy = policy, Prompts = Prompts!, Reward = combined.Evaluate, Decode = decode,
                Options = Options, RunDirectory = RunDirectory, Resume = Resume, Objectives = pipeline.Registries.Objectives,
                Observers = DefaultObservers ? StandardObservers.For(RunDirectory, Options, Loggers).AddRange(Observers) : Observers,
            };
            var trainer = FlowGrpoTrainer.Create(setup);
            Directory.CreateDirectory(RunDirectory);
            WriteRunConfig(pipeline, lora);
            var log = Loggers.CreateLogger("Omni.Facade.Training");
            log.LogInformation("Training {Parameters:N0} parameters in {Tensors} tensors of {Architecture} ({Mode}); run folder {RunDirectory}",
                policy.Trainable.Sum(p => p.Parameter.numel()), policy.Trainable.Count, pipeline.Config.Architecture,
                lora is null ? "full fine-tuning" : $"LoRA rank {lora.Rank}, alpha {lora.Alpha}{(adapter is null ? "" : $", from {adapter.Path}")}",
                RunDirectory);
            log.LogInformation("Decoding: {Decoder}", Decoder is not null ? "WithDecoder's function" : decode is null ? "none (rewards score latents)" : "the adapter's choice");
            return new OmniTrainingRun(trainer, policy, pipeline, lora);
        }
        catch
        {
            foreach (var module in loaded) module.Dispose();
            throw;
        }
    }

    private static nn.Module Owned(nn.Module module, List<IDisposable> loaded)
    {
        loaded.Add(module);
        return module;
    }

    // The teacher folder's transformer, frozen, in eval mode.
    private nn.Module LoadTeacher(OmniPipeline student)
    {
        var teacher = OmniPipeline.FromFolder(TeacherFolder!).WithRegistries(student.Registries).WithAlgorithm(student.Config.Algorithm).Build();
        var module = (nn.Module)teacher.LoadDenoiser(ScalarType.Float32);
        module.eval();
        foreach (var p in module.parameters()) p.requires_grad_(false);
        return module;
    }

    private void WriteRunConfig(OmniPipeline pipeline, LoraSettings? lora) =>
        File.WriteAllText(Path.Combine(RunDirectory, "config.json"), JsonSerializer.Serialize(new
        {
            model = new
            {
                pipeline.Config.Path, pipeline.Config.Architecture, pipeline.Config.Algorithm, pipeline.Config.Pipeline,
                pipeline.Config.VaeScaleFactor, pipeline.Config.ExternalAssembly,
                Sde = new
                {
                    pipeline.Config.Sde.NoiseLevel, pipeline.Config.Sde.SdeType, pipeline.Config.Sde.WindowSize,
                    WindowRange = pipeline.Config.Sde.WindowRange is { } range ? new[] { range.Start, range.End } : null,
                },
            },
            lora, lora_weights = LoraWeights, training = Options, rewards = Rewards.Select(r => new { r.Reward.Name, r.Weight }),
        }, new JsonSerializerOptions { WriteIndented = true, Converters = { new JsonStringEnumConverter() } }));
}

/// <summary>Entry points of the training facade.</summary>
public static class OmniTraining
{
    /// <summary>Starts a training setup on a diffusers pipeline folder.</summary>
    public static OmniTrainingBuilder FromFolder(string folder) => new(OmniPipeline.FromFolder(folder));

    /// <summary>Starts a training setup on a configured pipeline builder.</summary>
    public static OmniTrainingBuilder From(OmniPipelineBuilder pipeline) => new(pipeline);
}
