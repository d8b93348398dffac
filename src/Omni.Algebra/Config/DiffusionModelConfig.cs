namespace Omni.Algebra.Config;

/// <summary>
/// Everything that selects and drives a diffusion model for RL fine-tuning (the reference's
/// <c>actor_rollout_ref.model</c>). <see cref="Architecture"/> is the <c>_class_name</c> of the model folder's
/// <c>model_index.json</c>; together with <see cref="Algorithm"/> it selects the adapters. Build one with
/// <c>Omni.Facade</c>'s configuration binding or fluent builder, which read the folder and validate the result.
/// </summary>
public sealed record DiffusionModelConfig
{
    /// <summary>The diffusers pipeline folder.</summary>
    public required string Path { get; init; }

    /// <summary>The pipeline class name (<c>model_index.json</c> <c>_class_name</c>), e.g. <c>StableDiffusion3Pipeline</c>.</summary>
    public required string Architecture { get; init; }

    /// <summary>The algorithm key (<c>flow_grpo</c>, <c>mix_grpo</c>, <c>dance_grpo</c>, …).</summary>
    public string Algorithm { get; init; } = "flow_grpo";

    /// <summary>An assembly (path or name) whose <c>IOmniPlugin</c> types register extra adapters (the reference's <c>external_lib</c>).</summary>
    public string? ExternalAssembly { get; init; }

    /// <summary>Sampling pipeline settings.</summary>
    public PipelineSettings Pipeline { get; init; } = new();

    /// <summary>SDE settings.</summary>
    public SdeSettings Sde { get; init; } = new();

    /// <summary>LoRA settings.</summary>
    public LoraSettings Lora { get; init; } = new();

    /// <summary>The transformer's compute dtype: <c>float32</c>, <c>bfloat16</c> or <c>float16</c> (scheduler math stays float32).</summary>
    public string DType { get; init; } = "bfloat16";

    /// <summary>The VAE's spatial down-sampling factor.</summary>
    public int VaeScaleFactor { get; init; } = 8;

    /// <summary>The registry key of this configuration.</summary>
    public Adapters.AdapterKey Key => new(Architecture, Algorithm);
}
