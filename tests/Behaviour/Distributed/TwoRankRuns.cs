using Omni.Effects.Safetensors;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.Cli;
using Omni.Tests.Behaviour.ShapesModel;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// What the multi-rank CLI tests share: a scratch folder holding a trainable tiny shapes model, <c>omni</c> runs in it
/// under a time limit that kills the whole process tree, and the final weights a run wrote.
/// </summary>
public abstract class TwoRankRuns : IDisposable
{
    /// <summary>How long one <c>omni</c> process tree may run before it is killed.</summary>
    protected static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    /// <summary>The scratch folder (deleted on dispose).</summary>
    protected readonly string _work;

    /// <summary>The tiny model's folder inside <see cref="_work"/>.</summary>
    protected readonly string _model;

    /// <summary>Creates the scratch folder (named from <paramref name="prefix"/>) and writes the model into it.</summary>
    protected TwoRankRuns(string prefix)
    {
        _work = Directory.CreateTempSubdirectory(prefix).FullName;
        _model = Path.Combine(_work, "tiny-model");
        SaveTrainableTinyModel(_model);
    }

    /// <summary>
    /// Writes the tiny shapes model, moved off its adaLN-zero start by seeded noise (std 0.05) so that every parameter
    /// receives a gradient from the first step and the clean image it predicts depends on its input. A zero-start
    /// clean-image model draws the same flat picture from every noise: its images' JPEG sizes then tie within a group to
    /// the byte, and one byte decides the group's advantages and DPO's pairs, so runs that differ by float rounding part
    /// ways after a step.
    /// </summary>
    private static void SaveTrainableTinyModel(string folder)
    {
        using var pipeline = TinyShapes.Create(seed: 3);
        using (no_grad())
        {
            var generator = new Generator(7);
            foreach (var p in pipeline.Transformer.parameters())
                p.add_(randn(p.shape, p.dtype, p.device, generator: generator).mul_(0.05f));
        }
        ShapesPipelineFolder.Save(pipeline, folder);
    }

    /// <summary>Runs <c>omni</c> with <paramref name="args"/> in the scratch folder to completion or <see cref="Limit"/>.</summary>
    protected (int Code, string Output, string Error) Omni(params string[] args)
    {
        using var p = new OmniProcess(_work, args);
        var code = p.Wait(Limit);
        return (code, p.Output, p.Error);
    }

    /// <summary>The transformer weights of <paramref name="run"/>'s <c>final-model</c>.</summary>
    protected Dictionary<string, Tensor> FinalWeights(string run)
    {
        using var file = SafetensorsFile.Open(Path.Combine(_work, run, "final-model", "transformer", "diffusion_pytorch_model.safetensors"));
        return file.Entries.Keys.ToDictionary(k => k, k => file.Read(k));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Directory.Delete(_work, true);
        GC.SuppressFinalize(this);
    }
}
