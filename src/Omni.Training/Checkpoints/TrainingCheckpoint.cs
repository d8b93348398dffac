using System.Text.Json;
using Omni.Effects.Safetensors;
using Omni.Training.Update;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Training.Checkpoints;

/// <summary>
/// Resumable checkpoints: trained tensors (safetensors), optimizer state, EMA, DiffusionNFT's old policy, counters and options. A checkpoint is
/// written into a temporary folder and renamed into place, then the <c>latest</c> pointer is replaced atomically, so a run
/// killed at any moment leaves either the previous checkpoint or the new one — never a half-written one. No generator
/// states are needed: every random draw of step s derives from (seed, s) (see <c>SeedStreams</c>).
/// </summary>
public static class TrainingCheckpoint
{
    private const string TrainableFile = "trainable.safetensors";
    private const string OptimizerFile = "optimizer.bin";
    private const string EmaFile = "ema.safetensors";
    private const string OldPolicyFile = "old_policy.safetensors";
    private const string StateFile = "state.json";

    /// <summary>The checkpoints folder of a run.</summary>
    public static string Folder(string runDirectory) => Path.Combine(runDirectory, "checkpoints");

    /// <summary>Writes a checkpoint after <paramref name="state"/>.Step steps and returns its folder.</summary>
    public static string Save(string runDirectory, CheckpointState state, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable,
                              TorchSharp.Modules.OptimizerHelper optimizer, Ema? ema, int keep, OldPolicy? oldPolicy = null)
    {
        var root = Folder(runDirectory);
        Directory.CreateDirectory(root);
        var name = $"step-{state.Step:D6}";
        var final = Path.Combine(root, name);
        var temporary = Path.Combine(root, $".{name}.tmp-{Environment.ProcessId}");
        if (Directory.Exists(temporary)) Directory.Delete(temporary, true);
        Directory.CreateDirectory(temporary);
        using (no_grad())
        {
            SafetensorsWriter.Write(Path.Combine(temporary, TrainableFile), trainable.ToDictionary(p => p.Name, p => (Tensor)p.Parameter.detach()));
            if (ema is not null) SafetensorsWriter.Write(Path.Combine(temporary, EmaFile), ema.Shadow.ToDictionary(p => p.Key, p => p.Value));
            if (oldPolicy is not null) SafetensorsWriter.Write(Path.Combine(temporary, OldPolicyFile), oldPolicy.Weights.ToDictionary(p => p.Key, p => p.Value));
        }
        optimizer.save_state_dict(Path.Combine(temporary, OptimizerFile));
        File.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        if (Directory.Exists(final)) Directory.Delete(final, true);
        Directory.Move(temporary, final);
        var pointer = Path.Combine(root, "latest");
        File.WriteAllText(pointer + ".tmp", name);
        File.Move(pointer + ".tmp", pointer, overwrite: true);
        foreach (var old in Directory.GetDirectories(root, "step-*").Order(StringComparer.Ordinal).SkipLast(keep))
            Directory.Delete(old, true);
        return final;
    }

    /// <summary>The latest complete checkpoint of a run, if any.</summary>
    public static string? Latest(string runDirectory)
    {
        var pointer = Path.Combine(Folder(runDirectory), "latest");
        if (!File.Exists(pointer)) return null;
        var folder = Path.Combine(Folder(runDirectory), File.ReadAllText(pointer).Trim());
        return File.Exists(Path.Combine(folder, StateFile)) ? folder : null;
    }

    /// <summary>Reads a checkpoint's counters without touching any tensors.</summary>
    public static CheckpointState ReadState(string checkpoint)
    {
        var path = Path.Combine(checkpoint, StateFile);
        if (!File.Exists(path)) throw new InvalidDataException($"'{checkpoint}' is not a training checkpoint: it has no {StateFile}.");
        return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }

    /// <summary>Restores parameters, optimizer state, EMA and old policy from <paramref name="checkpoint"/>; returns its counters.</summary>
    /// <exception cref="InvalidDataException">The checkpoint does not match the model (missing tensors, other shapes).</exception>
    public static CheckpointState Restore(string checkpoint, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable,
                                          TorchSharp.Modules.OptimizerHelper optimizer, Ema? ema, OldPolicy? oldPolicy = null)
    {
        var state = ReadState(checkpoint);
        using (var file = SafetensorsFile.Open(Path.Combine(checkpoint, TrainableFile)))
        using (no_grad())
        {
            var missing = trainable.Where(p => !file.Entries.ContainsKey(p.Name)).Select(p => p.Name).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"Checkpoint '{checkpoint}' lacks {missing.Count} trained tensors (e.g. '{missing[0]}'); was it written for another model or LoRA setting?");
            foreach (var (name, p) in trainable)
            {
                using var value = file.Read(name, p.dtype);
                if (!value.shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"Checkpoint tensor '{name}' is ({string.Join(", ", value.shape)}), the model's is ({string.Join(", ", p.shape)}).");
                p.copy_(value);
            }
        }
        optimizer.load_state_dict(Path.Combine(checkpoint, OptimizerFile));
        if (ema is not null)
        {
            var emaPath = Path.Combine(checkpoint, EmaFile);
            if (!File.Exists(emaPath)) throw new InvalidDataException($"Checkpoint '{checkpoint}' has no EMA, but EMA is enabled.");
            using var file = SafetensorsFile.Open(emaPath);
            var values = file.Entries.Keys.ToDictionary(k => k, k => file.Read(k));
            try { ema.Load(values); }
            finally { foreach (var v in values.Values) v.Dispose(); }
        }
        if (oldPolicy is not null)
        {
            var oldPath = Path.Combine(checkpoint, OldPolicyFile);
            if (!File.Exists(oldPath)) throw new InvalidDataException($"Checkpoint '{checkpoint}' has no old policy, which DiffusionNFT needs.");
            using var file = SafetensorsFile.Open(oldPath);
            var values = file.Entries.Keys.ToDictionary(k => k, k => file.Read(k));
            try { oldPolicy.Load(values, trainable); }
            finally { foreach (var v in values.Values) v.Dispose(); }
        }
        return state;
    }
}
