using System.Text.Json;
using Omni.Algebra.Adapters;
using Omni.Effects.Safetensors;
using Omni.Models.Loading;
using Omni.Models.Vae;
using Omni.Tests.Golden.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>models</c> suite: each tiny diffusers model listed in <c>models/models.json</c> is built from its
/// <c>config.json</c>, loaded strictly from its safetensors under diffusers' parameter names and run on its stored
/// inputs; every stored output agrees within 1e-4 absolute in float32.
/// </summary>
public sealed class ModelGoldenTests
{
    private delegate Dictionary<string, Tensor> Runner(nn.Module module, ModelInputs inputs);

    private static readonly Dictionary<string, (Func<string, nn.Module> Build, Runner Run)> Implemented = new()
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

    // Omni implements only the Qwen-Image VAE's decoder: its encoder's weights are the only keys it may leave unused.
    private static readonly Dictionary<string, string[]> DecoderOnly = new() { ["AutoencoderKLQwenImage"] = ["encoder.", "quant_conv."] };

    private static Dictionary<string, Tensor> Denoise(nn.Module module, ModelInputs inputs) => new() { ["sample"] = ((IDenoiser)module).Forward(inputs) };

    // [[[F, h, w], …], …] per sample.
    private static IReadOnlyList<IReadOnlyList<(int, int, int)>> ImageShapes(JsonElement value) =>
        value.EnumerateArray().Select(sample => (IReadOnlyList<(int, int, int)>)sample.EnumerateArray()
            .Select(s => (s[0].GetInt32(), s[1].GetInt32(), s[2].GetInt32())).ToList()).ToList();

    private static JsonElement[] Models()
    {
        var manifest = Path.Combine(GoldenDirectory.Path, "models", "models.json");
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        return document.RootElement.GetProperty("models").EnumerateArray().Select(m => m.Clone()).ToArray();
    }

    /// <summary>Every model the manifest lists; a class Omni does not implement fails its case.</summary>
    public static TheoryData<string> AllModels
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var m in Models()) data.Add(m.GetProperty("name").GetString()!);
            return data;
        }
    }

    public static TheoryData<string> ImplementedDenoisers
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var m in Models().Where(m => m.GetProperty("class").GetString()!.Contains("Transformer") && Implemented.ContainsKey(m.GetProperty("class").GetString()!)))
                data.Add(m.GetProperty("name").GetString()!);
            return data;
        }
    }

    [Theory, MemberData(nameof(AllModels))]
    public void Model_outputs_match_the_reference(string name)
    {
        var className = Models().Single(m => m.GetProperty("name").GetString() == name).GetProperty("class").GetString()!;
        Assert.True(Implemented.ContainsKey(className), $"{name}: Omni has no implementation of {className}");
        using var scope = NewDisposeScope();
        var (outputs, expected) = RunModel(name, null);
        Assert.NotEmpty(expected);
        foreach (var (key, reference) in expected)
            TensorAssert.AbsolutelyClose(outputs[key], reference, TensorAssert.ModelAbsolute, $"{name} {key}");
    }

    /// <summary>
    /// Stated precision of half-precision inference against the float32 reference, as a fraction of the output's
    /// largest magnitude: bf16 (8-bit mantissa) within 3%, fp16 (11-bit mantissa) within 0.5%. Measured on the tiny
    /// transformers: at most 1.2% and 0.13% (Wan: 0.49% and 0.07%, with its patch embedding kept in float32).
    /// </summary>
    [Theory, MemberData(nameof(ImplementedDenoisers))]
    public void Half_precision_outputs_stay_within_the_stated_error(string name)
    {
        foreach (var (dtype, bound) in new[] { (ScalarType.BFloat16, 3e-2), (ScalarType.Float16, 5e-3) })
        {
            using var scope = NewDisposeScope();
            var (outputs, expected) = RunModel(name, dtype);
            var output = outputs["sample"];
            Assert.Equal(dtype, output.dtype);
            var scale = expected["sample"].abs().max().item<float>();
            var error = (output.to(ScalarType.Float32) - expected["sample"]).abs().max().item<float>();
            Assert.True(error <= bound * scale, $"{name} in {dtype}: max error {error:E3} > {bound} × {scale:E3}");
        }
    }

    /// <summary>Gradient checkpointing (issue 4) recomputes activations in the backward pass without changing a gradient.</summary>
    [Theory, MemberData(nameof(ImplementedDenoisers))]
    public void Gradient_checkpointing_leaves_gradients_unchanged(string name)
    {
        using var scope = NewDisposeScope();
        var (module, inputs) = Load(name, null);
        module.train();
        Dictionary<string, Tensor> Gradients(bool checkpointing)
        {
            switch (module)
            {
                case Omni.Models.Sd3.Sd3Transformer2DModel m: m.GradientCheckpointing = checkpointing; break;
                case Omni.Models.QwenImage.QwenImageTransformer2DModel m: m.GradientCheckpointing = checkpointing; break;
                case Omni.Models.Wan.WanTransformer3DModel m: m.GradientCheckpointing = checkpointing; break;
                default: throw new NotSupportedException(name);
            }
            module.zero_grad();
            ((IDenoiser)module).Forward(inputs).pow(2).mean().backward();
            return module.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }
        var ordinary = Gradients(false);
        var checkpointed = Gradients(true);
        Assert.Equal(ordinary.Keys.Order(), checkpointed.Keys.Order());
        foreach (var (key, grad) in ordinary)
            Assert.True((checkpointed[key] - grad).abs().max().item<float>() <= 1e-6f * (1 + grad.abs().max().item<float>()), $"{name} {key}");
    }

    private static (nn.Module Module, ModelInputs Inputs) Load(string name, ScalarType? dtype)
    {
        var entry = Models().Single(m => m.GetProperty("name").GetString() == name);
        var folder = Path.Combine(GoldenDirectory.Path, entry.GetProperty("folder").GetString()!);
        var className = entry.GetProperty("class").GetString()!;
        var module = Implemented[className].Build(File.ReadAllText(Path.Combine(folder, "config.json")));
        var unused = DecoderOnly.GetValueOrDefault(className, []);
        var report = WeightLoader.Load(module, Path.Combine(folder, "diffusion_pytorch_model.safetensors"), strict: unused.Length == 0);
        Assert.True(report.Missing.Count == 0 && report.ShapeMismatches.Count == 0
                    && report.Unexpected.All(k => unused.Any(prefix => k.StartsWith(prefix, StringComparison.Ordinal))), report.ToString());
        if (dtype is { } type) Omni.Models.Common.Precision.Cast(module, type);
        module.OnTestDevice();
        using var io = SafetensorsFile.Open(Path.Combine(folder, "io.safetensors"));
        var inputs = ModelInputs.Empty;
        foreach (var key in io.Entries.Keys.Where(k => k.StartsWith("input/", StringComparison.Ordinal)))
            inputs = inputs.With(key["input/".Length..], io.Read(key).OnTestDevice());
        foreach (var input in entry.GetProperty("non_tensor_inputs").EnumerateObject())
            inputs = inputs.With(input.Name, input.Name == "img_shapes" ? ImageShapes(input.Value) : throw new NotSupportedException($"{name}: non-tensor input {input.Name}"));
        return (module, inputs);
    }

    private static (Dictionary<string, Tensor> Outputs, Dictionary<string, Tensor> Expected) RunModel(string name, ScalarType? dtype)
    {
        var entry = Models().Single(m => m.GetProperty("name").GetString() == name);
        var folder = Path.Combine(GoldenDirectory.Path, entry.GetProperty("folder").GetString()!);
        var run = Implemented[entry.GetProperty("class").GetString()!].Run;
        var (module, inputs) = Load(name, dtype);
        module.eval();
        using var io = SafetensorsFile.Open(Path.Combine(folder, "io.safetensors"));
        var expected = io.Entries.Keys.Where(k => k.StartsWith("output/", StringComparison.Ordinal))
            .ToDictionary(k => k["output/".Length..], k => io.Read(k).OnTestDevice());
        using var noGrad = no_grad();
        return (run(module, inputs), expected);
    }
}
