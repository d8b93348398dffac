using System.Text.Json;
using Omni.Algebra.Adapters;
using Omni.Effects.Safetensors;
using Omni.Models.Loading;
using Omni.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>One entry of <c>models/models.json</c>.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Class">The diffusers class.</param>
/// <param name="Folder">Its folder, absolute.</param>
/// <param name="NonTensorInputs">Inputs that are not tensors (<c>img_shapes</c>).</param>
/// <param name="ParameterCount">The reference model's parameter count.</param>
public sealed record ModelFixture(string Name, string Class, string Folder, JsonElement NonTensorInputs, long ParameterCount);

/// <summary>
/// The <c>models/</c> fixtures: the manifest, the modules Omni builds for each diffusers class, and what each is run on.
/// Shared by the model suite and the pipeline-folder suite (whose components are these models, loaded the pipeline's way).
/// </summary>
public static class ModelFixtures
{
    /// <summary>The files a model folder holds.</summary>
    public static readonly string[] Files = ["config.json", "diffusion_pytorch_model.safetensors", "io.safetensors"];

    /// <summary>Every property a <c>models.json</c> entry may have; the suite reads each of them.</summary>
    public static readonly string[] EntryProperties = ["name", "class", "folder", "non_tensor_inputs", "n_params", "note"];

    /// <summary>How Omni runs a module of a class on its stored inputs, by output name.</summary>
    public delegate Dictionary<string, Tensor> Runner(nn.Module module, ModelInputs inputs);

    /// <summary>The classes Omni implements: how to build one from its <c>config.json</c> text, and how to run it.</summary>
    public static readonly IReadOnlyDictionary<string, (Func<string, nn.Module> Build, Runner Run)> Implemented =
        new Dictionary<string, (Func<string, nn.Module>, Runner)>
        {
            ["SD3Transformer2DModel"] = (TransformerLoader.Builders["SD3Transformer2DModel"], Denoise),
            ["QwenImageTransformer2DModel"] = (TransformerLoader.Builders["QwenImageTransformer2DModel"], Denoise),
            ["WanTransformer3DModel"] = (TransformerLoader.Builders["WanTransformer3DModel"], Denoise),
            ["AutoencoderKL"] = (json => new AutoencoderKL(AutoencoderKLConfig.Parse(json)), (module, inputs) =>
            {
                var vae = (AutoencoderKL)module;
                return new() { ["decoded"] = vae.DecodeLatents(inputs.Tensor("latents")), ["encoded_mean"] = vae.EncodeMean(inputs.Tensor("image")) };
            }),
            ["AutoencoderKLQwenImage"] = (json => new QwenImageVaeDecoder(QwenImageVaeConfig.Parse(json)), (module, inputs) =>
                new() { ["decoded"] = ((QwenImageVaeDecoder)module).Decode(inputs.Tensor("latents")) }),
        };

    /// <summary>Omni implements only the Qwen-Image VAE's decoder: its encoder's weights are the only keys it may leave unused.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> DecoderOnly = new Dictionary<string, string[]> { ["AutoencoderKLQwenImage"] = ["encoder.", "quant_conv."] };

    private static Dictionary<string, Tensor> Denoise(nn.Module module, ModelInputs inputs) => new() { ["sample"] = ((IDenoiser)module).Forward(inputs) };

    /// <summary>The manifest's entries; an entry with a property the suite does not read fails here.</summary>
    public static IReadOnlyList<ModelFixture> Entries()
    {
        var manifest = Path.Combine(GoldenDirectory.Path, "models", "models.json");
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        return document.RootElement.GetProperty("models").EnumerateArray().Select(m =>
        {
            var unknown = m.EnumerateObject().Select(p => p.Name).Except(EntryProperties).ToList();
            var name = m.GetProperty("name").GetString()!;
            if (unknown.Count > 0)
                throw new Xunit.Sdk.XunitException($"models.json entry {name} declares [{string.Join(", ", unknown)}], which the model suite does not check.");
            return new ModelFixture(name, m.GetProperty("class").GetString()!, Path.Combine(GoldenDirectory.Path, m.GetProperty("folder").GetString()!),
                                    m.GetProperty("non_tensor_inputs").Clone(), m.GetProperty("n_params").GetInt64());
        }).ToList();
    }

    /// <summary>The entry called <paramref name="name"/>.</summary>
    public static ModelFixture Entry(string name) => Entries().Single(m => m.Name == name);

    /// <summary>The stored inputs: every <c>input/*</c> tensor of <c>io.safetensors</c> and every non-tensor input, by argument name.</summary>
    public static ModelInputs Inputs(ModelFixture model)
    {
        using var io = SafetensorsFile.Open(Path.Combine(model.Folder, "io.safetensors"));
        var inputs = ModelInputs.Empty;
        foreach (var key in io.Entries.Keys.Where(k => k.StartsWith("input/", StringComparison.Ordinal)))
            inputs = inputs.With(key["input/".Length..], io.Read(key));
        foreach (var input in model.NonTensorInputs.EnumerateObject())
            inputs = inputs.With(input.Name, input.Name == "img_shapes"
                ? ImageShapes(input.Value)
                : throw new Xunit.Sdk.XunitException($"{model.Name}: the non-tensor input '{input.Name}' is not one the suite knows how to pass."));
        return inputs;
    }

    /// <summary>The reference outputs: every <c>output/*</c> tensor of <c>io.safetensors</c>, by name; any other key fails.</summary>
    public static Dictionary<string, Tensor> Outputs(ModelFixture model)
    {
        using var io = SafetensorsFile.Open(Path.Combine(model.Folder, "io.safetensors"));
        var stray = io.Entries.Keys.Where(k => !k.StartsWith("input/", StringComparison.Ordinal) && !k.StartsWith("output/", StringComparison.Ordinal)).ToList();
        if (stray.Count > 0) throw new Xunit.Sdk.XunitException($"{model.Name}/io.safetensors holds [{string.Join(", ", stray)}], neither inputs nor outputs.");
        return io.Entries.Keys.Where(k => k.StartsWith("output/", StringComparison.Ordinal)).ToDictionary(k => k["output/".Length..], k => io.Read(k));
    }

    // [[[F, h, w], …], …] per sample.
    private static IReadOnlyList<IReadOnlyList<(int, int, int)>> ImageShapes(JsonElement value) =>
        value.EnumerateArray().Select(sample => (IReadOnlyList<(int, int, int)>)sample.EnumerateArray()
            .Select(s => (s[0].GetInt32(), s[1].GetInt32(), s[2].GetInt32())).ToList()).ToList();

    /// <summary>Runs <paramref name="module"/> (already loaded) on the entry's inputs without gradients, in eval mode.</summary>
    public static Dictionary<string, Tensor> Run(ModelFixture model, nn.Module module)
    {
        module.eval();
        var inputs = Inputs(model);
        using var noGrad = no_grad();
        return Implemented[model.Class].Run(module, inputs);
    }
}
