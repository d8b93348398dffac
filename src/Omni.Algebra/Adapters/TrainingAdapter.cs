using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// How one (architecture, algorithm) pair trains: a record of functions (the reference's
/// <c>DiffusionModelBase</c> hooks). Three are required — the timestep recipe, model-input construction and the
/// forward-and-sample step; the rest have the reference's defaults and can be replaced with <c>with</c>.
/// </summary>
public sealed record TrainingAdapter
{
    /// <summary>A display name (the reference's class name), used in messages.</summary>
    public required string Name { get; init; }

    /// <summary>The <c>set_timesteps</c> arguments for this model (steps, sigmas, <c>mu</c>).</summary>
    public required Func<SchedulerConfig, DiffusionModelConfig, TimestepRequest> SetTimesteps { get; init; }

    /// <summary>Builds the arguments of the denoiser (and of its CFG negative pass, if any) for one step.</summary>
    public required Func<IDenoiser, DiffusionModelConfig, ModelInputRequest, Either<OmniError, (ModelInputs Positive, ModelInputs? Negative)>> PrepareModelInputs { get; init; }

    /// <summary>
    /// Runs the model (with guidance) and scores the stored transition with the SDE step. It receives the adapter it is
    /// called on (the reference's <c>self</c>), so its calls into the adapter's other functions follow a <c>with</c> copy;
    /// <see cref="TrajectoryStep.ForwardAndSample"/> is the standard implementation.
    /// </summary>
    public required Func<TrainingAdapter, StepContext, Either<OmniError, PolicyStep>> ForwardAndSamplePreviousStep { get; init; }

    /// <summary>Builds the schedule; by default <see cref="FlowMatchSchedule.SetTimesteps(SchedulerConfig, TimestepRequest)"/> with <see cref="SetTimesteps"/>.</summary>
    public Func<SchedulerConfig, DiffusionModelConfig, Validation<OmniError, SchedulerState>>? BuildScheduler { get; init; }

    /// <summary>One prediction; by default the positive pass only (negative arguments ignored), as the reference.</summary>
    public Func<IDenoiser, DiffusionModelConfig, ModelInputs, ModelInputs?, Tensor> Forward { get; init; } = (module, _, positive, _) => module.Forward(positive);

    /// <summary>
    /// Builds the module to train, and loads its weights, instead of loading the folder's <c>transformer/</c> as a
    /// diffusers transformer Omni knows (none by default). Every architecture whose transformer Omni does not ship
    /// needs it: return <c>Some(module)</c> (an <c>nn.Module</c> that implements <see cref="IDenoiser"/>) built from
    /// <see cref="DiffusionModelConfig.Path"/>, or <c>None</c> to fall back to the folder's transformer.
    /// </summary>
    public Func<DiffusionModelConfig, Option<IDenoiser>> BuildModule { get; init; } = _ => None;

    /// <summary>
    /// How final latents become what the rewards score (<see cref="Decoding.FolderVae"/> by default; an architecture with its
    /// own decoder returns <see cref="Decoding.With"/>, one whose rewards score latents <see cref="Decoding.None"/>).
    /// </summary>
    public Func<DiffusionModelConfig, Decoding> BuildDecoder { get; init; } = _ => Decoding.FolderVae;

    /// <summary>Chooses trainable parameters when LoRA is off (by default all stay trainable).</summary>
    public Action<IDenoiser, DiffusionModelConfig> ConfigureTrainableParams { get; init; } = (_, _) => { };

    /// <summary>Architecture-specific train-mode overrides (none by default).</summary>
    public Action<IDenoiser> ConfigureTrainMode { get; init; } = _ => { };

    /// <summary>Rejects LoRA settings the architecture cannot serve (accepts everything by default).</summary>
    public Func<DiffusionModelConfig, Validation<OmniError, DiffusionModelConfig>> ValidateLora { get; init; } = Success<OmniError, DiffusionModelConfig>;

    /// <summary>Image-to-image conditioning hooks; present only for image-conditioned adapters.</summary>
    public Option<ImageConditioning> Conditioning { get; init; } = None;

    /// <summary>The schedule for <paramref name="config"/>: <see cref="BuildScheduler"/> if set, else the default.</summary>
    public Validation<OmniError, SchedulerState> Schedule(SchedulerConfig scheduler, DiffusionModelConfig config) =>
        BuildScheduler is { } build ? build(scheduler, config) : FlowMatchSchedule.SetTimesteps(scheduler, SetTimesteps(scheduler, config));
}
