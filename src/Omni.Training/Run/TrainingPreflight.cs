using System.Text.Json;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using Omni.Algebra.Registries;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using Omni.Algebra.Training;
using Omni.Training.Checkpoints;
using Omni.Training.Options;
using static LanguageExt.Prelude;

namespace Omni.Training.Run;

/// <summary>What a run resolves to once checked: validated options, its adapters and objectives, and the checkpoint it resumes.</summary>
/// <param name="Options">The options, with a window set in the model config applied.</param>
/// <param name="Training">The training adapter.</param>
/// <param name="Rollout">The rollout adapter.</param>
/// <param name="Objectives">The objectives: estimator, main loss (and so the training flow), KL and distillation terms.</param>
/// <param name="ResumeFrom">The checkpoint folder the run continues from, if any.</param>
public sealed record ResolvedRun(TrainingOptions Options, TrainingAdapter Training, RolloutAdapter Rollout, ObjectivePlan Objectives, string? ResumeFrom)
{
    /// <summary>The main loss.</summary>
    public DiffusionLoss Loss => Objectives.Loss;

    /// <summary>The KL loss, when enabled.</summary>
    public DiffusionLoss? Kl => Objectives.Kl;

    /// <summary>The advantage estimator.</summary>
    public AdvantageEstimator Estimator => Objectives.Estimator;
}

/// <summary>
/// Everything about a run that can be checked before a model is loaded or a file is written: the options, the adapters
/// and objectives its configuration selects and what they need (a reference, a teacher, group sizes: <see cref="ObjectivePlan"/>),
/// the prompts, and whether the run folder's checkpoint can be resumed with these settings. <see cref="Check"/> reports every
/// problem at once.
/// </summary>
public sealed record TrainingPreflight
{
    /// <summary>Training options.</summary>
    public required TrainingOptions Options { get; init; }

    /// <summary>The model configuration (adapter key, sampling and SDE settings).</summary>
    public required DiffusionModelConfig Config { get; init; }

    /// <summary>The sampling schedule.</summary>
    public required SchedulerState Schedule { get; init; }

    /// <summary>The registries the adapters come from.</summary>
    public required AdapterRegistries Registries { get; init; }

    /// <summary>Losses and advantage estimators.</summary>
    public ObjectiveRegistry Objectives { get; init; } = ObjectiveRegistry.Default;

    /// <summary>True when only LoRA adapters train.</summary>
    public bool TrainsLora { get; init; }

    /// <summary>Whether a frozen reference policy is available (KL, DPO and NFT's reference term with full fine-tuning).</summary>
    public bool HasReference { get; init; }

    /// <summary>Whether a distillation teacher is available.</summary>
    public bool HasTeacher { get; init; }

    /// <summary>The number of training prompts.</summary>
    public required long PromptCount { get; init; }

    /// <summary>The run folder.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Continue from the run folder's latest checkpoint when there is one.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>The preflight of a complete setup.</summary>
    public static TrainingPreflight For(TrainingSetup setup) => new()
    {
        Options = setup.Options, Config = setup.Policy.Config, Schedule = setup.Policy.Schedule, Registries = setup.Policy.Registries,
        Objectives = setup.Objectives, TrainsLora = setup.Policy.TrainsLora, HasReference = setup.Policy.Reference is not null,
        HasTeacher = setup.Policy.Teacher is not null,
        PromptCount = setup.Prompts.Count, RunDirectory = setup.RunDirectory, Resume = setup.Resume,
    };

    /// <summary>The resolved run, or every problem found, each with a precise message.</summary>
    public Validation<OmniError, ResolvedRun> Check()
    {
        var problems = new List<OmniError>();
        var windowed = WithConfigWindow(Options);
        var options = TrainingOptionsRules.Validate(windowed).Match(o => o, errors => { problems.AddRange(errors); return windowed; });
        if (options.Window == WindowStrategy.PerSample && options.WindowRangeEnd > Schedule.NumInferenceSteps)
            problems.Add(OmniError.Invalid(
                $"The per-sample window envelope [{options.WindowRangeStart}, {options.WindowRangeEnd}] reaches past the {Schedule.NumInferenceSteps}-step schedule."));
        var adapters = from training in PipelineHelpers.TrainingAdapterFor(Registries, Config)
                       from rollout in PipelineHelpers.RolloutAdapterFor(Registries, Config).ToEither(new OmniError(ErrorKind.NotSupported,
                           $"No rollout adapter is registered for {Config.Key}; training needs one."))
                       select (training, rollout);
        adapters.IfLeft(problems.Add);
        var resources = new ObjectiveResources(TrainsLora, HasReference, HasTeacher);
        var plan = ObjectivePlan.Resolve(options, Config.Algorithm, Objectives, resources);
        plan.IfFail(e => problems.AddRange(e));
        if (PromptCount < 1) problems.Add(OmniError.Invalid("The prompt set is empty."));
        var resume = problems.Count == 0 ? ResumePoint(options) : Right<OmniError, Option<string>>(None);
        resume.IfLeft(problems.Add);
        if (problems.Count > 0) return Fail<OmniError, ResolvedRun>(Seq(problems));
        var (trainingAdapter, rolloutAdapter) = adapters.OrThrow();
        return Success<OmniError, ResolvedRun>(new ResolvedRun(options, trainingAdapter, rolloutAdapter, plan.OrThrow(),
                                                               resume.OrThrow().MatchUnsafe(c => c, () => null)));
    }

    /// <summary>The options as a checkpoint records them: Steps may change on resume (to extend a run) only when the learning rate does not depend on it.</summary>
    public static string ComparableOptions(TrainingOptions o) =>
        JsonSerializer.Serialize(o.LearningRateSchedule == LearningRateShape.Constant ? o with { Steps = 0 } : o);

    /// <summary>The model and sampling setup as a checkpoint records it.</summary>
    public string ModelDescription() => JsonSerializer.Serialize(new
    {
        Config.Architecture, Config.Algorithm, Config.Pipeline, Sde = Config.Sde.ToString(), Schedule.Timesteps, TrainsLora,
    });

    /// <summary>
    /// A window set in the model config (<c>sde_window_size</c>/<c>sde_window_range</c>) applies when the options leave the
    /// window at Full: one window per sample as the reference's request batching draws them, or, for <c>mix_grpo</c>, MixGRPO's
    /// one seeded window per step.
    /// </summary>
    private TrainingOptions WithConfigWindow(TrainingOptions o) =>
        o.Window == WindowStrategy.Full && !o.Fast && Config.Sde.WindowSize is { } size
            ? o with
            {
                Window = Config.Algorithm == "mix_grpo" ? WindowStrategy.Random : WindowStrategy.PerSample, WindowSize = size,
                WindowRangeStart = (Config.Sde.WindowRange ?? SdeSettings.DefaultWindowRange).Start,
                WindowRangeEnd = (Config.Sde.WindowRange ?? SdeSettings.DefaultWindowRange).End,
            }
            : o;

    // The latest checkpoint when resuming, or an error when it was written with other options or for another model.
    private Either<OmniError, Option<string>> ResumePoint(TrainingOptions options)
    {
        if (!Resume || TrainingCheckpoint.Latest(RunDirectory) is not { } checkpoint) return Right<OmniError, Option<string>>(None);
        var state = TrainingCheckpoint.ReadState(checkpoint);
        if (OptionsMismatch(state.Options, ComparableOptions(options)) is { } mismatch)
            return Left<OmniError, Option<string>>(OmniError.Invalid(
                $"Cannot resume from '{checkpoint}': {mismatch}. Use a new run folder, or the same options (only Steps may change, and only with a constant learning rate)."));
        if (state.Model != ModelDescription())
            return Left<OmniError, Option<string>>(OmniError.Invalid(
                $"Cannot resume from '{checkpoint}': it was written for another model or sampling setup ({state.Model})."));
        return Right<OmniError, Option<string>>(checkpoint);
    }

    private static string? OptionsMismatch(string saved, string current)
    {
        using var a = JsonDocument.Parse(saved);
        using var b = JsonDocument.Parse(current);
        var differing = a.RootElement.EnumerateObject()
            .Where(p => !b.RootElement.TryGetProperty(p.Name, out var v) || v.GetRawText() != p.Value.GetRawText())
            .Select(p => $"{p.Name} was {p.Value.GetRawText()}").ToList();
        return differing.Count == 0 ? null : "the options differ (" + string.Join(", ", differing) + ")";
    }
}
