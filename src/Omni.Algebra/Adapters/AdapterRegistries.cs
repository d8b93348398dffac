using Omni.Algebra.Registries;
using Omni.Algebra.Rollouts;

namespace Omni.Algebra.Adapters;

/// <summary>
/// Every registry Omni dispatches through, as one immutable value: training adapters and rollout adapters keyed by
/// (architecture, algorithm), and the objectives (losses, advantage estimators, algorithm recipes).
/// </summary>
/// <param name="Training">Training adapters.</param>
/// <param name="Rollout">Rollout adapters.</param>
/// <param name="Objectives">Losses, estimators and recipes.</param>
public sealed record AdapterRegistries(
    AdapterRegistry<TrainingAdapter> Training,
    AdapterRegistry<RolloutAdapter> Rollout,
    ObjectiveRegistry Objectives)
{
    /// <summary>
    /// The objectives of <see cref="ObjectiveRegistry.Default"/> and no architecture adapter. The built-in architectures
    /// (SD3, Qwen-Image, Wan) live in <c>Omni.Models.BuiltInAdapters.Registries</c>, which starts from this value: register
    /// on that one to add to the built-ins (<c>OmniPipelineBuilder.WithAdapter</c> does), on this one only to exclude them.
    /// </summary>
    public static AdapterRegistries Default { get; } = new(
        AdapterRegistry<TrainingAdapter>.Empty("diffusion model"),
        AdapterRegistry<RolloutAdapter>.Empty("rollout pipeline"),
        ObjectiveRegistry.Default);

    /// <summary>Registers a training adapter and, optionally, its rollout counterpart under one key.</summary>
    public AdapterRegistries Register(AdapterKey key, TrainingAdapter training, RolloutAdapter? rollout = null) => this with
    {
        Training = Training.Register(key, training),
        Rollout = rollout is null ? Rollout : Rollout.Register(key, rollout),
    };
}

/// <summary>
/// Implemented by a public class with a parameterless constructor in an external assembly (the reference's
/// <c>external_lib</c>): Omni instantiates it and lets it add its adapters, losses or estimators.
/// </summary>
public interface IOmniPlugin
{
    /// <summary>Returns <paramref name="registries"/> with this plugin's additions.</summary>
    AdapterRegistries Register(AdapterRegistries registries);
}
