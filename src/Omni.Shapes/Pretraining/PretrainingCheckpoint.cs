using System.Text.Json;
using LanguageExt;
using Omni.Effects.Safetensors;
using Omni.Models.Loading;
using Omni.Shapes.Pipeline;
using TorchSharp.Modules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Shapes.Pretraining;

/// <summary>
/// The resumable state of a pretraining run: both modules' weights (float32), the AdamW state and the number of
/// completed steps. The data and noise of step k are functions of (seed, k) alone, so no generator state is needed.
/// A checkpoint folder appears atomically (written beside the target, then swapped in).
/// </summary>
public static class PretrainingCheckpoint
{
    private const string TextEncoderFile = "text_encoder.safetensors";
    private const string TransformerFile = "transformer.safetensors";
    private const string OptimizerFile = "optimizer.bin";
    private const string StateFile = "state.json";

    /// <summary>Writes the checkpoint of <paramref name="completedSteps"/> finished steps to <paramref name="folder"/>.</summary>
    public static void Save(string folder, ShapesPipeline pipeline, OptimizerHelper optimizer, int completedSteps, long seed)
    {
        var target = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(staging);
            WriteWeights(pipeline.TextEncoder, Path.Combine(staging, TextEncoderFile));
            WriteWeights(pipeline.Transformer, Path.Combine(staging, TransformerFile));
            optimizer.save_state_dict(Path.Combine(staging, OptimizerFile));
            File.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(new State(completedSteps, seed)));
            var old = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.old");
            if (Directory.Exists(target)) Directory.Move(target, old);
            Directory.Move(staging, target);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Restores weights and optimizer state from <paramref name="folder"/> into the given objects and returns the
    /// completed steps; none when there is no checkpoint.
    /// </summary>
    /// <exception cref="InvalidOperationException">The checkpoint was made with another seed.</exception>
    public static Option<int> TryRestore(string folder, ShapesPipeline pipeline, OptimizerHelper optimizer, long seed)
    {
        var stateFile = Path.Combine(folder, StateFile);
        if (!File.Exists(stateFile)) return None;
        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(stateFile))
                    ?? throw new InvalidOperationException($"'{stateFile}' is empty.");
        if (state.Seed != seed)
            throw new InvalidOperationException($"The checkpoint '{folder}' belongs to a run with seed {state.Seed}, not {seed}; delete it or use that seed.");
        WeightLoader.Load(pipeline.TextEncoder, Path.Combine(folder, TextEncoderFile), strict: true);
        WeightLoader.Load(pipeline.Transformer, Path.Combine(folder, TransformerFile), strict: true);
        optimizer.load_state_dict(Path.Combine(folder, OptimizerFile));
        return Some(state.CompletedSteps);
    }

    private static void WriteWeights(nn.Module module, string path)
    {
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(path, module.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().cpu().contiguous()));
    }

    private sealed record State(int CompletedSteps, long Seed);
}
