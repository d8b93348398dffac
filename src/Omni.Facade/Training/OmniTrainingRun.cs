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

    /// <summary>The LoRA settings trained (from <c>WithLora</c> or read from <c>WithLoraWeights</c>), or null for full fine-tuning.</summary>
    public LoraSettings? Lora => _lora;

    /// <summary>The pipeline it samples with.</summary>
    public OmniPipeline Pipeline { get; }

    /// <summary>Runs the remaining steps. Cancelling finishes the current step and writes a resumable checkpoint.</summary>
    public Task<TrainingSummary> RunAsync(CancellationToken cancellation = default) => Trainer.RunAsync(cancellation);

    /// <summary>
    /// Writes what was trained into <paramref name="folder"/> and returns the main file. LoRA: the adapters in diffusers'
    /// layout (<c>pytorch_lora_weights.safetensors</c>, returned; <c>pipe.load_lora_weights(folder)</c>) and PEFT's
    /// (<c>adapter_model.safetensors</c> + <c>adapter_config.json</c>; <c>PeftModel.from_pretrained(transformer, folder)</c>),
    /// see <see cref="LoraFiles"/>. Full fine-tuning: the transformer weights under diffusers' names
    /// (<c>diffusion_pytorch_model.safetensors</c>). With EMA on, the averaged trained tensors too (<c>ema.safetensors</c>).
    /// </summary>
    public string Export(string folder)
    {
        Directory.CreateDirectory(folder);
        if (Trainer.Ema is { } ema)
            Omni.Effects.Safetensors.SafetensorsWriter.Write(Path.Combine(folder, "ema.safetensors"), ema.Shadow.ToDictionary(p => p.Key, p => p.Value));
        if (_lora is not null) return LoraFiles.Save(Policy.Module, folder, _lora, Pipeline.Config.Path);
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
