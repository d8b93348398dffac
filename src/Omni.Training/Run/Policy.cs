using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Training.Run;

/// <summary>
/// The model being trained and everything needed to drive it: its adapter pair (looked up in the registries by the config's
/// (architecture, algorithm) key), its schedule, and which parameters train.
/// </summary>
public sealed record Policy
{
    /// <summary>The denoiser module (an <see cref="nn.Module"/> that is also an <see cref="IDenoiser"/>).</summary>
    public required nn.Module Module { get; init; }

    /// <summary>The model config: sampling settings, SDE settings, LoRA settings and the adapter key.</summary>
    public required DiffusionModelConfig Config { get; init; }

    /// <summary>Registries the training and rollout adapters come from.</summary>
    public required AdapterRegistries Registries { get; init; }

    /// <summary>The sampling schedule (from the adapter's <c>set_timesteps</c> on the folder's scheduler config).</summary>
    public required SchedulerState Schedule { get; init; }

    /// <summary>True when only LoRA adapters train; the reference policy is then the same model with adapters disabled.</summary>
    public bool TrainsLora { get; init; }

    /// <summary>
    /// Reference policy when the full model trains (a frozen copy of the initial model): the KL term, Diffusion-DPO's reference
    /// predictions and DiffusionNFT's <c>ref_kl_coef</c> term. Unused with LoRA, whose reference is the base model.
    /// </summary>
    public IDenoiser? Reference { get; init; }

    /// <summary>The frozen teacher of on-policy distillation (<c>distill_kl</c>, <c>distill_fm_mse</c>), evaluated on the student's rollouts.</summary>
    public IDenoiser? Teacher { get; init; }

    /// <summary>Runs <paramref name="action"/> on the reference policy: the base model with LoRA disabled, or <see cref="Reference"/>.</summary>
    /// <exception cref="InvalidOperationException">Full fine-tuning without a reference (the objective checks rule this out first).</exception>
    public T WithReference<T>(Func<IDenoiser, T> action) =>
        TrainsLora
            ? Omni.Models.Lora.LoraAdapters.WithAdaptersDisabled(Module, () => action(Denoiser))
            : action(Reference ?? throw new InvalidOperationException("Full fine-tuning has no reference policy: give one (WithReference)."));

    /// <summary>The module as a denoiser.</summary>
    public IDenoiser Denoiser => Module as IDenoiser
        ?? throw new InvalidOperationException($"{Module.GetType().Name} does not implement IDenoiser.");

    /// <summary>The parameters that receive gradients, by name, in a stable order.</summary>
    public IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> Trainable =>
        Module.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>The registered training and rollout adapters for this policy's key.</summary>
    public Either<OmniError, (TrainingAdapter Training, RolloutAdapter Rollout)> Adapters() =>
        from training in PipelineHelpers.TrainingAdapterFor(Registries, Config)
        from rollout in PipelineHelpers.RolloutAdapterFor(Registries, Config).ToEither(new OmniError(ErrorKind.NotSupported,
            $"No rollout adapter is registered for {Config.Key}; training needs one."))
        select (training, rollout);
}
