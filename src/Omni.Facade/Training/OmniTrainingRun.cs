using Omni.Algebra.Config;
using Omni.Facade.Pipelines;
using Omni.Models.Lora;
using Omni.Training.Run;

namespace Omni.Facade.Training;

/// <summary>A configured run: start it, stop it (cancellation writes a checkpoint), export what it trained.</summary>
public sealed class OmniTrainingRun : IDisposable
{
    private readonly LoraSettings? _lora;

    internal OmniTrainingRun(FlowGrpoTrainer trainer, Policy policy, OmniPipeline pipeline, LoraSettings? lora) =>
        (Trainer, Policy, Pipeline, _lora) = (trainer, policy, pipeline, lora);

    /// <summary>The trainer (step-level control).</summary>
    public FlowGrpoTrainer Trainer { get; }

    /// <summary>The model being trained.</summary>
    public Policy Policy { get; }

    /// <summary>The pipeline it samples with.</summary>
    public OmniPipeline Pipeline { get; }

    /// <summary>Runs the remaining steps. Cancelling finishes the current step and writes a resumable checkpoint.</summary>
    public Task<TrainingSummary> RunAsync(CancellationToken cancellation = default) => Trainer.RunAsync(cancellation);

    /// <summary>
    /// Writes what was trained: the LoRA adapter (<c>adapter_model.safetensors</c>, PEFT key names) or, for full fine-tuning,
    /// the transformer weights (<c>diffusion_pytorch_model.safetensors</c>, diffusers key names). With EMA on, the averaged
    /// trained tensors are written too (<c>ema.safetensors</c>, same names). Always float32: under bf16-mixed the master
    /// weights are written, not their bfloat16 copies.
    /// </summary>
    public string Export(string folder) => WithFloat32Weights(() => ExportFloat32(folder));

    /// <summary>
    /// Runs <paramref name="action"/> with the model holding its float32 trained weights: under bf16-mixed the model is cast
    /// to float32 and given the master values for the call, then returned to bfloat16 (use it to evaluate or save a model
    /// at full precision); under float32 it just runs the action.
    /// </summary>
    public T WithFloat32Weights<T>(Func<T> action) => Trainer.Precision.WithFloat32Weights(action);

    private string ExportFloat32(string folder)
    {
        Directory.CreateDirectory(folder);
        if (Trainer.Ema is { } ema)
            Omni.Effects.Safetensors.SafetensorsWriter.Write(Path.Combine(folder, "ema.safetensors"), ema.Shadow.ToDictionary(p => p.Key, p => p.Value));
        if (_lora is not null)
        {
            var path = Path.Combine(folder, "adapter_model.safetensors");
            LoraAdapters.Save(Policy.Module, path, _lora);
            return path;
        }
        var weights = Path.Combine(folder, "diffusion_pytorch_model.safetensors");
        Omni.Effects.Safetensors.SafetensorsWriter.Write(weights,
            Policy.Module.named_parameters().ToDictionary(p => p.name, p => (TorchSharp.torch.Tensor)p.parameter.detach()));
        return weights;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Trainer.Dispose();
        Policy.Module.Dispose();
    }
}
