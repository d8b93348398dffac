using Omni.Algebra.Adapters;
using Omni.Algebra.Rollouts;

namespace Omni.Models.Adapters;

/// <summary>
/// The (<c>QwenImagePipeline</c>, <c>diffusion_nft</c>) adapter pair, as VeRL-Omni's Qwen-Image DiffusionNFT adapter: the
/// Qwen-Image model call (<c>timestep/1000</c>, text mask, <c>img_shapes</c>, true CFG with per-token norm rescaling when
/// <c>true_cfg_scale &gt; 1</c> and negative embeddings exist) on the re-noised latent; the rollout is the plain Qwen-Image
/// sampler (the ODE, unless an SDE window is asked for), keeping clean latents for the forward-process loss.
/// </summary>
public static class QwenImageDiffusionNft
{
    /// <summary>The registry key.</summary>
    public static readonly AdapterKey Key = new("QwenImagePipeline", "diffusion_nft");

    /// <summary>The training adapter: Qwen-Image's inputs and true CFG under this pair's name.</summary>
    public static TrainingAdapter Training { get; } = QwenImageFlowGrpo.Training with { Name = "QwenImageDiffusionNFT" };

    /// <summary>The rollout: the Qwen-Image sampler under this pair's name.</summary>
    public static RolloutAdapter Rollout { get; } = QwenImageFlowGrpo.Rollout with { Name = "QwenImageDiffusionNFTPipeline" };
}
