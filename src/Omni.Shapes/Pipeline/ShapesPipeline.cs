using Omni.Algebra.Config;
using Omni.Algebra.Schedules;
using Omni.Effects.Devices;
using Omni.Effects.Random;
using Omni.Models.Sd3;
using Omni.Shapes.Model;

namespace Omni.Shapes.Pipeline;

/// <summary>
/// The bundled tiny text-to-image model of the shapes world, in memory: its text encoder, its pixel-space MMDiT
/// denoiser and its flow-matching scheduler configuration. <see cref="ShapesPipelineFolder"/> saves and loads it
/// as a diffusers-layout folder whose <c>model_index.json</c> names <see cref="ClassName"/>.
/// </summary>
public sealed class ShapesPipeline : IDisposable
{
    /// <summary>The pipeline class name (<c>model_index.json</c> <c>_class_name</c>): the architecture of the adapter key.</summary>
    public const string ClassName = "OmniShapesPipeline";

    /// <summary>Wraps existing components.</summary>
    /// <exception cref="ArgumentException">The denoiser does not fit the text encoder or is not a 3-channel pixel model.</exception>
    public ShapesPipeline(ShapesTextEncoder textEncoder, Sd3Transformer2DModel transformer, SchedulerConfig scheduler)
    {
        var (text, sd3) = (textEncoder.Config, transformer.Config);
        var problems = new List<string>();
        if (sd3.JointAttentionDim != text.HiddenSize) problems.Add($"joint_attention_dim ({sd3.JointAttentionDim}) must equal the text encoder's hidden_size ({text.HiddenSize}).");
        if (sd3.PooledProjectionDim != text.ProjectionDim) problems.Add($"pooled_projection_dim ({sd3.PooledProjectionDim}) must equal the text encoder's projection_dim ({text.ProjectionDim}).");
        if (sd3.InChannels != 3 || sd3.OutputChannels != 3) problems.Add($"The denoiser must map 3 channels to 3 (pixel space); it has {sd3.InChannels} → {sd3.OutputChannels}.");
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        (TextEncoder, Transformer, Scheduler) = (textEncoder, transformer, scheduler);
    }

    /// <summary>The text encoder.</summary>
    public ShapesTextEncoder TextEncoder { get; }

    /// <summary>The denoiser.</summary>
    public Sd3Transformer2DModel Transformer { get; }

    /// <summary>The scheduler configuration (<c>scheduler/scheduler_config.json</c>).</summary>
    public SchedulerConfig Scheduler { get; }

    /// <summary>The image side in pixels (the denoiser's <c>sample_size</c>).</summary>
    public int ImageSize => Transformer.Config.SampleSize;

    /// <summary>A freshly initialised pipeline, weights drawn from one generator seeded with <paramref name="seed"/> (text encoder first).</summary>
    public static ShapesPipeline Create(ShapesTextEncoderConfig textConfig, Sd3Config denoiserConfig, long seed, SchedulerConfig? scheduler = null)
    {
        using var generator = Generators.Seeded(seed);
        var encoder = new ShapesTextEncoder(textConfig);
        ShapesInitialisation.Initialise(encoder, generator);
        return new ShapesPipeline(encoder, ShapesDenoiser.Create(denoiserConfig, generator), scheduler ?? SchedulerConfig.Default);
    }

    /// <summary>
    /// The model configuration that drives rollouts of this pipeline: architecture <see cref="ClassName"/>, pixel
    /// space (VAE factor 1), float32, the image size, <paramref name="steps"/> steps, CFG scale
    /// <paramref name="guidanceScale"/> (≤ 1 disables it) and the SDE settings (η 0 is the deterministic ODE).
    /// </summary>
    public DiffusionModelConfig ModelConfig(string path = "", string algorithm = "flow_grpo", int steps = ShapesSampling.DefaultSteps,
                                            double guidanceScale = ShapesSampling.DefaultGuidanceScale, SdeSettings? sde = null) => new()
    {
        Path = path,
        Architecture = ClassName,
        Algorithm = algorithm,
        DType = "float32",
        VaeScaleFactor = 1,
        Pipeline = new PipelineSettings
        {
            Height = ImageSize,
            Width = ImageSize,
            NumInferenceSteps = steps,
            GuidanceScale = guidanceScale,
            MaxSequenceLength = TextEncoder.Config.MaxPositionEmbeddings,
        },
        Sde = sde ?? new SdeSettings { NoiseLevel = 0.0 },
    };

    /// <summary>The device of the modules' weights.</summary>
    public TorchSharp.torch.Device Device => Transformer.parameters().First().device;

    /// <summary>Moves both modules to <paramref name="device"/> in place (their parameters are replaced: build optimizers afterwards).</summary>
    public ShapesPipeline To(TorchSharp.torch.Device device)
    {
        TextEncoder.MoveTo(device);
        Transformer.MoveTo(device);
        return this;
    }

    /// <summary>Puts both modules in evaluation mode.</summary>
    public void Eval()
    {
        TextEncoder.eval();
        Transformer.eval();
    }

    /// <summary>Disposes both modules.</summary>
    public void Dispose()
    {
        TextEncoder.Dispose();
        Transformer.Dispose();
    }
}
