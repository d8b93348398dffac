using Omni.Models.Loading;
using Omni.Tests.Golden.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>models/</c> fixtures: each tiny diffusers model listed in <c>models/models.json</c> is built from its
/// <c>config.json</c> with the reference's parameter count, loaded strictly from its safetensors under diffusers'
/// parameter names and run on its stored inputs; every stored output agrees within 1e-4 absolute in float32. A folder the
/// manifest does not list, a file or an <c>io.safetensors</c> key the suite does not use, or a class Omni does not build fails.
/// </summary>
[ChecksFixture("models/")]
public sealed class ModelGoldenTests
{
    /// <summary>Every model the manifest lists; a class Omni does not implement fails its case.</summary>
    public static TheoryData<string> AllModels => [.. ModelFixtures.Entries().Select(m => m.Name)];

    public static TheoryData<string> ImplementedDenoisers =>
        [.. ModelFixtures.Entries().Where(m => m.Class.Contains("Transformer") && ModelFixtures.Implemented.ContainsKey(m.Class)).Select(m => m.Name)];

    [Fact]
    public void Every_model_folder_is_listed_in_the_manifest_and_holds_only_what_the_suite_reads()
    {
        var root = Path.Combine(GoldenDirectory.Path, "models");
        var listed = ModelFixtures.Entries().Select(m => Path.GetFullPath(m.Folder)).ToHashSet();
        var unlisted = Directory.GetDirectories(root).Where(d => !listed.Contains(Path.GetFullPath(d))).Select(Path.GetFileName).ToList();
        Assert.True(unlisted.Count == 0, $"models/ holds folders models.json does not list, which no test runs: {string.Join(", ", unlisted)}.");
        var strayFiles = Directory.GetFiles(root).Select(Path.GetFileName).Where(f => f != "models.json").ToList();
        Assert.True(strayFiles.Count == 0, $"models/ holds files no test reads: {string.Join(", ", strayFiles)}.");
        foreach (var folder in listed)
        {
            var files = Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.True(files.SequenceEqual(ModelFixtures.Files.Order(StringComparer.Ordinal)),
                $"{folder} holds [{string.Join(", ", files)}]; the suite reads exactly [{string.Join(", ", ModelFixtures.Files)}].");
        }
    }

    [Theory, MemberData(nameof(AllModels))]
    public void Model_outputs_match_the_reference(string name)
    {
        var model = ModelFixtures.Entry(name);
        Assert.True(ModelFixtures.Implemented.ContainsKey(model.Class), $"{name}: Omni has no implementation of {model.Class}");
        using var scope = NewDisposeScope();
        var module = Load(model);
        var outputs = ModelFixtures.Run(model, module);
        var expected = ModelFixtures.Outputs(model);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Keys.Order(), outputs.Keys.Order());
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
        var model = ModelFixtures.Entry(name);
        foreach (var (dtype, bound) in new[] { (ScalarType.BFloat16, 3e-2), (ScalarType.Float16, 5e-3) })
        {
            using var scope = NewDisposeScope();
            var module = Load(model);
            Omni.Models.Common.Precision.Cast(module, dtype);
            var output = ModelFixtures.Run(model, module)["sample"];
            var expected = ModelFixtures.Outputs(model)["sample"];
            Assert.Equal(dtype, output.dtype);
            var scale = expected.abs().max().item<float>();
            var error = (output.to(ScalarType.Float32) - expected).abs().max().item<float>();
            Assert.True(error <= bound * scale, $"{name} in {dtype}: max error {error:E3} > {bound} × {scale:E3}");
        }
    }

    /// <summary>
    /// Builds the entry's module from its config and loads its weights strictly; the module (plus the encoder keys a
    /// decoder-only implementation leaves unused) has the reference's parameter count.
    /// </summary>
    private static nn.Module Load(ModelFixture model)
    {
        var module = ModelFixtures.Implemented[model.Class].Build(File.ReadAllText(Path.Combine(model.Folder, "config.json")));
        var unused = ModelFixtures.DecoderOnly.GetValueOrDefault(model.Class, []);
        var weights = Path.Combine(model.Folder, "diffusion_pytorch_model.safetensors");
        var report = WeightLoader.Load(module, weights, strict: unused.Length == 0);
        Assert.True(report.Missing.Count == 0 && report.ShapeMismatches.Count == 0
                    && report.Unexpected.All(k => unused.Any(prefix => k.StartsWith(prefix, StringComparison.Ordinal))), report.ToString());
        using var file = Omni.Effects.Safetensors.SafetensorsFile.Open(weights);
        var unusedCount = report.Unexpected.Sum(k => file.Entries[k].Shape.Aggregate(1L, (a, b) => a * b));
        var count = module.parameters().Sum(p => p.numel()) + unusedCount;
        Assert.True(count == model.ParameterCount, $"{model.Name}: {count} parameters, the reference model has {model.ParameterCount}.");
        return module;
    }
}
