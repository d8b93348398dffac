using Omni.Algebra.Adapters;
using Omni.Models.Adapters;

namespace Omni.Models;

/// <summary>The adapters of the architectures Omni ships, added to <see cref="AdapterRegistries.Default"/>.</summary>
public static class BuiltInAdapters
{
    /// <summary>The default registries plus every built-in architecture adapter.</summary>
    public static AdapterRegistries Registries { get; } = Register(AdapterRegistries.Default);

    /// <summary>Adds the built-in architecture adapters to <paramref name="registries"/>.</summary>
    public static AdapterRegistries Register(AdapterRegistries registries) =>
        registries
            .Register(Sd3FlowGrpo.Key, Sd3FlowGrpo.Training, Sd3FlowGrpo.Rollout)
            .Register(QwenImageFlowGrpo.Key, QwenImageFlowGrpo.Training, QwenImageFlowGrpo.Rollout)
            .Register(QwenImageFlowGrpo.MixGrpoKey, QwenImageFlowGrpo.MixGrpoTraining, QwenImageFlowGrpo.Rollout)
            .Register(WanDanceGrpo.Key, WanDanceGrpo.Training, WanDanceGrpo.Rollout)
            .Register(Sd3Dpo.Key, Sd3Dpo.Training, Sd3Dpo.Rollout)
            .Register(QwenImageDpo.Key, QwenImageDpo.Training, QwenImageDpo.Rollout)
            .Register(QwenImageDiffusionNft.Key, QwenImageDiffusionNft.Training, QwenImageDiffusionNft.Rollout);
}
