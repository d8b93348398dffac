using System.Text.Json;
using Omni.Algebra.Adapters;
using Omni.Models.Common;
using Omni.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Samples.Plugin;

/// <summary>
/// MyTinyPipeline's denoiser: a two-layer MLP applied to every latent position, fed the position's channels, the
/// timestep and the mean prompt embedding, predicting the flow-matching velocity. Its layers are
/// <see cref="AdaptableLinear"/> so LoRA can adapt them; their names are the state-dict keys of
/// <c>transformer/diffusion_pytorch_model.safetensors</c> (<c>input_proj.weight</c>, …).
/// </summary>
public sealed class MyTinyDenoiser : nn.Module<Tensor, Tensor>, IDenoiser
{
    // Field names are state-dict keys.
#pragma warning disable IDE1006
    private readonly AdaptableLinear input_proj;
    private readonly AdaptableLinear output_proj;
#pragma warning restore IDE1006

    /// <summary>Creates the layers (weights to be loaded).</summary>
    public MyTinyDenoiser(int inChannels, int promptDim, int hiddenDim) : base(nameof(MyTinyDenoiser))
    {
        input_proj = new AdaptableLinear(inChannels + 1 + promptDim, hiddenDim);
        output_proj = new AdaptableLinear(hiddenDim, inChannels);
        RegisterComponents();
    }

    /// <summary>Builds the module from <c>&lt;folder&gt;/transformer/config.json</c> and loads its weights strictly.</summary>
    public static MyTinyDenoiser Load(string folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "transformer", "config.json")));
        var config = json.RootElement;
        var module = new MyTinyDenoiser(config.GetProperty("in_channels").GetInt32(), config.GetProperty("prompt_dim").GetInt32(),
                                        config.GetProperty("hidden_dim").GetInt32());
        // Every key must match a parameter and every parameter must be in the file: a wrong file fails here, not later.
        WeightLoader.Load(module, Path.Combine(folder, "transformer", "diffusion_pytorch_model.safetensors"), strict: true);
        return module;
    }

    /// <inheritdoc />
    public Tensor Forward(ModelInputs inputs) =>
        Predict(inputs.Tensor("hidden_states"), inputs.Tensor("timestep"), inputs.Tensor("encoder_hidden_states"));

    /// <summary>Not used: the denoiser is called with keyword arguments through <see cref="Forward(ModelInputs)"/>.</summary>
    public override Tensor forward(Tensor hiddenStates) => throw new NotSupportedException("Call Forward(ModelInputs).");

    private Tensor Predict(Tensor latents, Tensor timestep, Tensor prompt)
    {
        using var scope = NewDisposeScope();
        var (b, c, h, w) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3]);
        var positions = latents.permute(0, 2, 3, 1).reshape(b, h * w, c);
        var time = (timestep.to(ScalarType.Float32) / 1000f).reshape(b, 1, 1).expand(b, h * w, 1);
        var context = prompt.mean([1], keepdim: true).expand(b, h * w, prompt.shape[2]);
        var hidden = nn.functional.silu(input_proj.forward(cat([positions, time, context], 2)));
        return output_proj.forward(hidden).reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }
}
