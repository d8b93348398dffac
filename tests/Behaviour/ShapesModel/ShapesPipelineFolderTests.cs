using Omni.Effects.Diffusers;
using Omni.Shapes.Pipeline;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.ShapesModel;

public sealed class ShapesPipelineFolderTests
{
    [Fact]
    public void Save_then_load_gives_identical_outputs()
    {
        var folder = Path.Combine(Directory.CreateTempSubdirectory("omni-shapes-").FullName, "model");
        try
        {
            using var original = TinyShapes.Create(seed: 5);
            // Non-zero adaLN and output weights, so the comparison exercises every parameter.
            using (no_grad()) foreach (var p in original.Transformer.parameters()) p.add_(0.01f);
            original.Eval();
            ShapesPipelineFolder.Save(original, folder);
            ShapesPipelineFolder.Save(original, folder);   // replacing an existing folder works too

            Assert.Equal(ShapesPipeline.ClassName, ModelFolder.ReadArchitecture(folder).Match(a => a, e => e.Message));
            using var loaded = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
            Assert.Equal(original.TextEncoder.Config, loaded.TextEncoder.Config);
            Assert.Equal(original.Scheduler, loaded.Scheduler);

            var prompts = new[] { "two red circles above a blue square", "a yellow triangle" };
            using var a = ShapesSampler.Sample(original, prompts, [1, 2], new ShapesSampling(Steps: 3));
            using var b = ShapesSampler.Sample(loaded, prompts, [1, 2], new ShapesSampling(Steps: 3));
            Assert.True(a.Equals(b));
            Assert.DoesNotContain(Directory.GetDirectories(Path.GetDirectoryName(folder)!), d => Path.GetFileName(d).StartsWith('.'));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Fact]
    public void Half_precision_weights_load_as_float32()
    {
        var folder = Directory.CreateTempSubdirectory("omni-shapes-").FullName;
        try
        {
            using var original = TinyShapes.Create();
            ShapesPipelineFolder.Save(original, folder, ScalarType.BFloat16);
            using var loaded = ShapesPipelineFolder.Load(folder).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
            Assert.All(loaded.Transformer.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_folder_whose_denoiser_predicts_velocity_is_refused_with_what_to_do()
    {
        var folder = Directory.CreateTempSubdirectory("omni-shapes-").FullName;
        try
        {
            using (var original = TinyShapes.Create()) ShapesPipelineFolder.Save(original, folder);
            var index = Path.Combine(folder, "model_index.json");
            Assert.Contains("\"prediction_type\": \"sample\"", File.ReadAllText(index));
            // What the velocity models bundled before this format wrote: no prediction_type at all.
            File.WriteAllText(index, File.ReadAllText(index).Replace("\"prediction_type\": \"sample\"", "\"prediction_note\": \"none\""));
            var error = ShapesPipelineFolder.Load(folder).Match(_ => "loaded", e => e.Message);
            Assert.Contains("no \"prediction_type\"", error);
            Assert.Contains("omni pretrain", error);
            File.WriteAllText(index, File.ReadAllText(index).Replace("\"prediction_note\": \"none\"", "\"prediction_type\": \"flow\""));
            Assert.Contains("\"prediction_type\": \"flow\"", ShapesPipelineFolder.Load(folder).Match(_ => "loaded", e => e.Message));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Loading_a_folder_of_another_pipeline_is_an_error()
    {
        using var other = new Support.TestModelFolder();
        Assert.True(ShapesPipelineFolder.Load(other.Path).IsLeft);
        Assert.True(ShapesPipelineFolder.Load(Path.Combine(other.Path, "missing")).IsLeft);
    }
}
