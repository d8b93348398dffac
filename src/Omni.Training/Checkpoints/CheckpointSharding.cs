using System.Text.Json;
using Omni.Effects.Distributed;
using Omni.Effects.Distributed.Sharding;
using Omni.Effects.Safetensors;
using Omni.Training.Distributed;
using Omni.Training.Update;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Training.Checkpoints;

/// <summary>
/// Checkpoints of runs at any world size. One process and DDP write today's layout from rank 0 (every rank holds the same
/// weights). FSDP writes a sharded checkpoint: each rank its shards of the trained parameters, AdamW moments, EMA and
/// DiffusionNFT's old policy, and
/// rank 0 a manifest with the world size and layout — into a temporary folder renamed into place only when every rank has
/// written, so a killed job leaves the previous checkpoint. A resume at the same world size reads each rank's own file
/// (bit-identical); at another world size, or across the two layouts, every tensor is reassembled and re-cut.
/// </summary>
public static class CheckpointSharding
{
    private const string StateFile = "state.json";

    /// <summary>Writes the checkpoint after <paramref name="state"/>.Step steps (a collective in a multi-rank run) and returns its folder.</summary>
    public static string Save(string runDirectory, CheckpointState state, DataParallel parallel,
                              IReadOnlyList<(string Name, Parameter Parameter)> trainable, OptimizerHelper optimizer, Ema? ema, int keep,
                              OldPolicy? oldPolicy = null)
    {
        var root = TrainingCheckpoint.Folder(runDirectory);
        var name = $"step-{state.Step:D6}";
        var final = Path.Combine(root, name);
        if (parallel.Mode != ShardingMode.Fsdp)
        {
            string? failure = null;
            if (parallel.IsLeader)
            {
                try { TrainingCheckpoint.Save(runDirectory, state, trainable, optimizer, ema, keep, oldPolicy); }
                catch (Exception e) when (parallel.WorldSize > 1) { failure = $"writing checkpoint {name} failed: {e.Message}"; }
            }
            if (parallel.Agree(failure) is { } reason) throw new IOException(reason);
            return final;
        }

        var (rank, world) = (parallel.Rank, parallel.WorldSize);
        var temporary = Path.Combine(root, $".{name}.tmp");
        if (parallel.IsLeader)
        {
            Directory.CreateDirectory(root);
            if (Directory.Exists(temporary)) Directory.Delete(temporary, true);
            Directory.CreateDirectory(temporary);
        }
        parallel.Barrier();
        string? problem = null;
        try
        {
            using var noGrad = no_grad();
            SafetensorsWriter.Write(Path.Combine(temporary, ShardManifest.RankFile("trainable", rank, world)),
                trainable.ToDictionary(p => p.Name, p => (Tensor)p.Parameter.detach()));
            var (moments, steps) = OptimizerMoments.Export(trainable, optimizer);
            SafetensorsWriter.Write(Path.Combine(temporary, ShardManifest.RankFile("optimizer", rank, world)), moments,
                new Dictionary<string, string> { ["steps"] = JsonSerializer.Serialize(steps) });
            if (ema is not null)
                SafetensorsWriter.Write(Path.Combine(temporary, ShardManifest.RankFile("ema", rank, world)), ema.Shadow.ToDictionary(p => p.Key, p => p.Value));
            if (oldPolicy is not null)
                SafetensorsWriter.Write(Path.Combine(temporary, ShardManifest.RankFile(OldPolicyKind, rank, world)), oldPolicy.Weights.ToDictionary(p => p.Key, p => p.Value));
        }
        catch (Exception e) { problem = $"writing its shards of checkpoint {name} failed: {e.Message}"; }
        if (parallel.Agree(problem) is { } failed) throw new IOException(failed);
        if (parallel.IsLeader)
        {
            var layouts = parallel.Shards!.Parameters.ToDictionary(p => p.Name);
            new ShardManifest(world, ShardingMode.Fsdp.Name(),
                [.. trainable.Select(p => new ShardedTensorLayout(p.Name, layouts[p.Name].FullShape, layouts[p.Name].RowsPerRank))]).Write(temporary);
            File.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
            TrainingCheckpoint.Publish(root, name, temporary, keep);
        }
        parallel.Barrier();
        return final;
    }

    /// <summary>
    /// Restores the trained parameters, AdamW state, EMA and old policy of <paramref name="checkpoint"/> into this rank's
    /// tensors, whatever world size and layout wrote it.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint does not match the model.</exception>
    public static void Restore(string checkpoint, DataParallel parallel, IReadOnlyList<(string Name, Parameter Parameter)> trainable,
                               OptimizerHelper optimizer, Ema? ema, OldPolicy? oldPolicy = null)
    {
        var manifest = ShardManifest.Read(checkpoint);
        var target = parallel.Mode == ShardingMode.Fsdp ? parallel.Shards!.Parameters.ToDictionary(p => p.Name) : null;
        if (manifest is null && target is null)
        {
            TrainingCheckpoint.Restore(checkpoint, trainable, optimizer, ema, oldPolicy);
            return;
        }
        RestoreLocal(checkpoint, manifest, target, parallel, trainable, optimizer, ema, oldPolicy);
        // Each rank compared only its shards with the current weights; the old-policy passes (gathers under FSDP) must run on
        // every rank or on none.
        if (oldPolicy is not null && parallel.AnyRank(!oldPolicy.MatchesCurrent)) oldPolicy.CurrentChanged();
    }

    private static void RestoreLocal(string checkpoint, ShardManifest? manifest, Dictionary<string, ShardedParameter>? target, DataParallel parallel,
                                     IReadOnlyList<(string Name, Parameter Parameter)> trainable, OptimizerHelper optimizer, Ema? ema, OldPolicy? oldPolicy)
    {
        using ICheckpointSource source = manifest is null ? UnshardedSource.Open(checkpoint, trainable, target!) : ShardedSource.Open(checkpoint, manifest, parallel);
        var missing = trainable.Select(p => p.Name).Where(n => !source.Has(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"Checkpoint '{checkpoint}' lacks {missing.Count} trained tensors (e.g. '{missing[0]}'); was it written for another model or LoRA setting?");
        // The local tensor: this rank's rows under FSDP, the whole tensor otherwise.
        Tensor Local(string name, Tensor full) => target is null ? full : target[name].SliceOf(full, parallel.Rank);
        using (no_grad())
            foreach (var (name, p) in trainable)
            {
                using var value = source.Local(name, "trainable", Local);
                if (!value.shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"Checkpoint tensor '{name}' does not fit the model's ({string.Join(", ", p.shape)}).");
                p.copy_(value);
            }
        OptimizerMoments.Import(trainable, optimizer, key =>
        {
            var split = key.LastIndexOf(".exp_avg", StringComparison.Ordinal);
            return source.Local(key[..split], "optimizer:" + key[(split + 1)..], Local);
        }, source.Steps());
        if (ema is not null)
        {
            if (!source.HasEma) throw new InvalidDataException($"Checkpoint '{checkpoint}' has no EMA, but EMA is enabled.");
            var values = ema.Shadow.Keys.ToDictionary(k => k, k => source.Local(k, "ema", Local)) as IReadOnlyDictionary<string, Tensor>;
            try { ema.Load(values); }
            finally { foreach (var v in values.Values) v.Dispose(); }
        }
        if (oldPolicy is not null)
        {
            if (!source.HasOldPolicy) throw new InvalidDataException($"Checkpoint '{checkpoint}' has no old policy, which DiffusionNFT needs.");
            var values = oldPolicy.Weights.Keys.ToDictionary(k => k, k => source.Local(k, OldPolicyKind, Local)) as IReadOnlyDictionary<string, Tensor>;
            try { oldPolicy.Load(values, trainable); }
            finally { foreach (var v in values.Values) v.Dispose(); }
        }
    }

    private const string OldPolicyKind = "old_policy";

    /// <summary>Where restored tensors come from.</summary>
    private interface ICheckpointSource : IDisposable
    {
        bool Has(string name);
        bool HasEma { get; }
        bool HasOldPolicy { get; }
        /// <summary>The local tensor of <paramref name="name"/> from store <paramref name="kind"/> (trainable, optimizer:exp_avg, optimizer:exp_avg_sq, ema, old_policy).</summary>
        Tensor Local(string name, string kind, Func<string, Tensor, Tensor> cut);
        IReadOnlyDictionary<string, long> Steps();
    }

    /// <summary>A one-process or DDP checkpoint read into an FSDP run: full tensors, cut to this rank's rows.</summary>
    private sealed class UnshardedSource : ICheckpointSource
    {
        private readonly SafetensorsFile _trainable;
        private readonly SafetensorsFile? _ema;
        private readonly SafetensorsFile? _oldPolicy;
        private readonly Dictionary<string, (Tensor M, Tensor V, long Step)> _moments;

        private UnshardedSource(SafetensorsFile trainable, SafetensorsFile? ema, SafetensorsFile? oldPolicy, Dictionary<string, (Tensor, Tensor, long)> moments) =>
            (_trainable, _ema, _oldPolicy, _moments) = (trainable, ema, oldPolicy, moments);

        public static UnshardedSource Open(string checkpoint, IReadOnlyList<(string Name, Parameter Parameter)> trainable,
                                           IReadOnlyDictionary<string, ShardedParameter> layout)
        {
            var file = SafetensorsFile.Open(Path.Combine(checkpoint, "trainable.safetensors"));
            var emaPath = Path.Combine(checkpoint, "ema.safetensors");
            var oldPath = Path.Combine(checkpoint, "old_policy.safetensors");
            // optimizer.bin is TorchSharp's own format: load it into a scratch AdamW over full-size tensors to read the moments.
            var scratch = trainable.Select(p => new Parameter(zeros(layout[p.Name].FullShape, p.Parameter.dtype))).ToList();
            using var adam = optim.AdamW(scratch);
            adam.load_state_dict(Path.Combine(checkpoint, "optimizer.bin"));
            var states = OptimizerMoments.Of(adam);
            var moments = trainable.Select((p, i) => (p.Name, (states[i].exp_avg.clone(), states[i].exp_avg_sq.clone(), states[i].step)))
                .ToDictionary(p => p.Name, p => p.Item2);
            foreach (var s in scratch) s.Dispose();
            return new UnshardedSource(file, File.Exists(emaPath) ? SafetensorsFile.Open(emaPath) : null,
                                       File.Exists(oldPath) ? SafetensorsFile.Open(oldPath) : null, moments);
        }

        public bool Has(string name) => _trainable.Entries.ContainsKey(name);

        public bool HasEma => _ema is not null;

        public bool HasOldPolicy => _oldPolicy is not null;

        public Tensor Local(string name, string kind, Func<string, Tensor, Tensor> cut)
        {
            if (kind.StartsWith("optimizer:", StringComparison.Ordinal))
                return cut(name, kind.EndsWith("exp_avg_sq", StringComparison.Ordinal) ? _moments[name].V : _moments[name].M);
            using var full = (kind switch { "ema" => _ema!, OldPolicyKind => _oldPolicy!, _ => _trainable }).Read(name);
            return cut(name, full);
        }

        public IReadOnlyDictionary<string, long> Steps() => _moments.ToDictionary(p => p.Key, p => p.Value.Step);

        public void Dispose()
        {
            _trainable.Dispose();
            _ema?.Dispose();
            _oldPolicy?.Dispose();
            foreach (var (m, v, _) in _moments.Values) { m.Dispose(); v.Dispose(); }
        }
    }

    /// <summary>A sharded checkpoint: this rank's own file when the layout matches, else every rank's rows joined and re-cut.</summary>
    private sealed class ShardedSource : ICheckpointSource
    {
        private readonly ShardManifest _manifest;
        private readonly Dictionary<string, SafetensorsFile[]> _files;
        private readonly Dictionary<string, ShardedTensorLayout> _layout;
        private readonly int? _sameRank;

        private ShardedSource(ShardManifest manifest, Dictionary<string, SafetensorsFile[]> files, int? sameRank)
        {
            (_manifest, _files, _sameRank) = (manifest, files, sameRank);
            _layout = manifest.Parameters.ToDictionary(p => p.Name);
        }

        public static ShardedSource Open(string checkpoint, ShardManifest manifest, DataParallel parallel)
        {
            var world = manifest.WorldSize;
            var current = parallel.Shards?.Parameters.ToDictionary(p => p.Name);
            var sameLayout = parallel.Mode == ShardingMode.Fsdp && world == parallel.WorldSize
                && manifest.Parameters.All(p => current!.TryGetValue(p.Name, out var c) && c.RowsPerRank == p.RowsPerRank && c.FullShape.SequenceEqual(p.Shape));
            var files = new Dictionary<string, SafetensorsFile[]>();
            try
            {
                foreach (var kind in new[] { "trainable", "optimizer", "ema", OldPolicyKind })
                {
                    var ranks = sameLayout ? [parallel.Rank] : Enumerable.Range(0, world).ToArray();
                    var paths = ranks.Select(r => Path.Combine(checkpoint, ShardManifest.RankFile(kind, r, world))).ToList();
                    if (kind is "ema" or OldPolicyKind && !File.Exists(paths[0])) continue;
                    var missing = paths.FirstOrDefault(p => !File.Exists(p));
                    if (missing is not null)
                        throw new InvalidDataException($"Sharded checkpoint '{checkpoint}' (world size {world}) is incomplete: '{Path.GetFileName(missing)}' is missing.");
                    files[kind] = [.. paths.Select(SafetensorsFile.Open)];
                }
            }
            catch
            {
                foreach (var f in files.Values.SelectMany(f => f)) f.Dispose();
                throw;
            }
            return new ShardedSource(manifest, files, sameLayout ? parallel.Rank : null);
        }

        public bool Has(string name) => _layout.ContainsKey(name);

        public bool HasEma => _files.ContainsKey("ema");

        public bool HasOldPolicy => _files.ContainsKey(OldPolicyKind);

        public Tensor Local(string name, string kind, Func<string, Tensor, Tensor> cut)
        {
            var (store, key) = kind switch
            {
                "trainable" => ("trainable", name),
                "ema" => ("ema", name),
                OldPolicyKind => (OldPolicyKind, name),
                _ => ("optimizer", $"{name}.{kind["optimizer:".Length..]}"),
            };
            var files = _files[store];
            if (_sameRank is not null) return files[0].Read(key);
            using var scope = NewDisposeScope();
            var layout = _layout[name];
            var rows = layout.Shape.Length == 0 ? 1 : layout.Shape[0];
            var joined = cat(files.Select(f => f.Read(key).reshape(layout.RowsPerRank, -1)).ToArray(), 0).narrow(0, 0, rows).reshape(layout.Shape);
            return cut(name, joined).clone().MoveToOuterDisposeScope();
        }

        public IReadOnlyDictionary<string, long> Steps() =>
            JsonSerializer.Deserialize<Dictionary<string, long>>(_files["optimizer"][0].Metadata["steps"])
                ?? throw new InvalidDataException($"The sharded optimizer state has no step counts (world size {_manifest.WorldSize}).");

        public void Dispose()
        {
            foreach (var f in _files.Values.SelectMany(f => f)) f.Dispose();
        }
    }
}
