using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LanguageExt;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Effects.Imaging;
using Omni.Effects.Safetensors;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Models.Lora;

/// <summary>
/// LoRA adapters on disk in the two layouts the Python tools load unchanged, and back:
/// <list type="bullet">
/// <item><b>diffusers</b> (<c>pipe.load_lora_weights(folder)</c>): <c>pytorch_lora_weights.safetensors</c>, keys prefixed by
/// the component (<c>transformer.transformer_blocks.0.attn.to_q.lora_A.weight</c>), and the adapter's <c>LoraConfig</c> as
/// JSON in the header's <c>lora_adapter_metadata</c> entry under the same prefix (<c>transformer.r</c>,
/// <c>transformer.lora_alpha</c>, …). Without that entry diffusers takes <c>lora_alpha = r</c>, which would silently change
/// the scale of an adapter trained with another alpha.</item>
/// <item><b>PEFT</b> (<c>PeftModel.from_pretrained(transformer, folder)</c>): <c>adapter_model.safetensors</c> with PEFT's
/// key names (<c>base_model.model.transformer_blocks.0.attn.to_q.lora_A.weight</c>) and <c>adapter_config.json</c>
/// (<c>peft_type</c>, <c>r</c>, <c>lora_alpha</c>, <c>target_modules</c>, <c>base_model_name_or_path</c>, …).</item>
/// </list>
/// <see cref="Read"/> accepts either (a file, or a folder holding one), and Omni's own earlier export (unprefixed keys,
/// <c>lora_rank</c>/<c>lora_alpha</c> in the header). <c>target_modules</c> are always written as the exact names of the
/// adapted layers, which PEFT and diffusers match whatever patterns chose them.
/// </summary>
public static class LoraFiles
{
    /// <summary>diffusers' LoRA weight file name (<c>LORA_WEIGHT_NAME_SAFE</c>).</summary>
    public const string DiffusersWeights = "pytorch_lora_weights.safetensors";

    /// <summary>PEFT's adapter weight file name.</summary>
    public const string PeftWeights = "adapter_model.safetensors";

    /// <summary>PEFT's adapter configuration file name.</summary>
    public const string PeftConfig = "adapter_config.json";

    /// <summary>The safetensors header entry diffusers reads the adapter's <c>LoraConfig</c> from (<c>LORA_ADAPTER_METADATA_KEY</c>).</summary>
    public const string DiffusersMetadataKey = "lora_adapter_metadata";

    /// <summary>The pipeline component Omni trains, diffusers' key prefix.</summary>
    public const string Component = "transformer";

    /// <summary>PEFT's prefix for the wrapped model's parameters.</summary>
    public const string PeftPrefix = "base_model.model.";

    /// <summary>
    /// Writes the attached adapters of <paramref name="model"/> in both layouts into <paramref name="folder"/>
    /// (<see cref="DiffusersWeights"/>, <see cref="PeftWeights"/> and <see cref="PeftConfig"/>). Returns the diffusers file.
    /// </summary>
    /// <param name="model">The model with adapters attached.</param>
    /// <param name="folder">The output folder (created).</param>
    /// <param name="settings">The settings the adapters were attached with (rank, alpha, initialisation).</param>
    /// <param name="baseModel">The base pipeline folder or hub id, recorded as <c>base_model_name_or_path</c>.</param>
    public static string Save(nn.Module model, string folder, LoraSettings settings, string baseModel)
    {
        Directory.CreateDirectory(folder);
        var state = LoraAdapters.State(model);
        if (state.Count == 0) throw new InvalidOperationException("The model has no LoRA adapters attached.");
        var config = ConfigJson(settings, ModuleNames(state.Keys), baseModel);

        var diffusersMetadata = new JsonObject();
        foreach (var (key, value) in config.Where(p => p.Key is not ("base_model_name_or_path" or "task_type" or "inference_mode")))
            diffusersMetadata[$"{Component}.{key}"] = value?.DeepClone();
        var diffusers = Path.Combine(folder, DiffusersWeights);
        SafetensorsWriter.Write(diffusers, state.ToDictionary(p => $"{Component}.{p.Key}", p => p.Value), new Dictionary<string, string>
        {
            ["format"] = "pt",
            [DiffusersMetadataKey] = diffusersMetadata.ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
        });

        SafetensorsWriter.Write(Path.Combine(folder, PeftWeights), state.ToDictionary(p => PeftPrefix + p.Key, p => p.Value),
                                new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllBytes(Path.Combine(folder, PeftConfig), System.Text.Encoding.UTF8.GetBytes(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true })));
        return diffusers;
    }

    /// <summary>
    /// Reads an adapter in any supported layout: a <c>.safetensors</c> file, or a folder with
    /// <see cref="DiffusersWeights"/> (preferred, as diffusers does) or <see cref="PeftWeights"/>. The settings come from
    /// the diffusers header entry, from <see cref="PeftConfig"/> beside a PEFT file, or from Omni's earlier header; the
    /// rank is read from the tensors, and without any alpha the diffusers convention <c>alpha = rank</c> applies.
    /// </summary>
    public static Either<OmniError, LoraFile> Read(string fileOrFolder)
    {
        var path = Directory.Exists(fileOrFolder)
            ? new[] { DiffusersWeights, PeftWeights }.Select(n => Path.Combine(fileOrFolder, n)).FirstOrDefault(File.Exists)
            : File.Exists(fileOrFolder) ? fileOrFolder : null;
        if (path is null)
            return Left<OmniError, LoraFile>(new OmniError(ErrorKind.NotFound, Directory.Exists(fileOrFolder)
                ? $"The LoRA folder '{fileOrFolder}' has neither {DiffusersWeights} (diffusers) nor {PeftWeights} (PEFT)."
                : $"The LoRA adapter '{fileOrFolder}' does not exist."));
        try
        {
            using var file = SafetensorsFile.Open(path);
            var keys = file.Entries.Keys.ToDictionary(StripPrefix, k => k);
            var bad = keys.Keys.Where(k => !(k.EndsWith(".lora_A.weight", StringComparison.Ordinal) || k.EndsWith(".lora_B.weight", StringComparison.Ordinal))).ToList();
            if (keys.Count == 0 || bad.Count > 0)
                return Left<OmniError, LoraFile>(OmniError.Invalid(
                    $"'{path}' is not a LoRA adapter of linear layers: expected only '<layer>.lora_A.weight' / '<layer>.lora_B.weight' keys"
                    + (bad.Count > 0 ? $", found [{string.Join(", ", bad.Take(5))}]." : ", found none.")));
            var ranks = keys.Where(k => k.Key.EndsWith(".lora_B.weight", StringComparison.Ordinal))
                            .Select(k => (int)file.Entries[k.Value].Shape[1]).Distinct().ToList();
            if (ranks.Count != 1)
                return Left<OmniError, LoraFile>(OmniError.Invalid($"'{path}' mixes LoRA ranks [{string.Join(", ", ranks)}]; Omni loads adapters of one rank."));
            var config = StoredConfig(path, file.Metadata);
            var settings = new LoraSettings
            {
                Rank = ranks[0],
                Alpha = config?["lora_alpha"]?.GetValue<double>() ?? ranks[0],
                InitWeights = config?["init_lora_weights"] is JsonValue init && init.TryGetValue<string>(out var s) ? s : "gaussian",
                TargetModules = [.. ModuleNames(keys.Keys)],
            };
            return new LoraFile(path, settings, keys);
        }
        catch (Exception e) when (e is SafetensorsException or JsonException or InvalidOperationException or FormatException)
        {
            return Left<OmniError, LoraFile>(OmniError.Invalid($"Cannot read the LoRA adapter '{path}': {e.Message}"));
        }
    }

    /// <summary>
    /// Attaches adapters as <paramref name="fileOrFolder"/> describes them (its layers, rank and alpha) and loads its
    /// weights. Returns the settings, to train on from there or to save with.
    /// </summary>
    /// <exception cref="OmniException">The file is unreadable, or names layers the model does not have.</exception>
    public static LoraSettings AttachFrom(nn.Module model, string fileOrFolder, Generator generator)
    {
        var adapter = Read(fileOrFolder).OrThrow();
        var layers = model.named_modules().Where(m => m.module is Common.AdaptableLinear).Select(m => m.name).ToHashSet();
        var unknown = adapter.Settings.TargetModules.Where(t => !layers.Contains(t)).ToList();
        if (unknown.Count > 0)
            throw new OmniException([OmniError.Invalid(
                $"The LoRA adapter '{adapter.Path}' adapts layers this model does not have: [{string.Join(", ", unknown.Take(8))}{(unknown.Count > 8 ? ", …" : "")}]. Was it trained on another architecture?")]);
        LoraAdapters.Attach(model, adapter.Settings, generator);
        Load(model, adapter);
        return adapter.Settings;
    }

    /// <summary>Loads an adapter file or folder (any layout) into adapters already attached; every adapter must be found and every key used.</summary>
    /// <exception cref="OmniException">Unreadable, or keys or shapes that do not match the attached adapters.</exception>
    public static void Load(nn.Module model, string fileOrFolder) => Load(model, Read(fileOrFolder).OrThrow());

    private static void Load(nn.Module model, LoraFile adapter)
    {
        var state = LoraAdapters.State(model);
        var missing = state.Keys.Where(k => !adapter.Keys.ContainsKey(k)).ToList();
        var unexpected = adapter.Keys.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new OmniException([OmniError.Invalid(
                $"'{adapter.Path}' does not match the attached adapters: missing [{string.Join(", ", missing.Take(8))}], unexpected [{string.Join(", ", unexpected.Take(8))}].")]);
        using var file = SafetensorsFile.Open(adapter.Path);
        using var g = no_grad();
        foreach (var (key, target) in state)
        {
            using var source = file.Read(adapter.Keys[key], target.dtype);
            if (!source.shape.SequenceEqual(target.shape))
                throw new OmniException([OmniError.Invalid(
                    $"'{adapter.Path}': '{key}' has shape ({string.Join(", ", source.shape)}), the adapter ({string.Join(", ", target.shape)}); was it saved with another rank?")]);
            target.copy_(source);
        }
    }

    // PEFT's LoraConfig fields for an adapter of plain linear layers, as PEFT writes them (adapter_config.json) and
    // diffusers reads them back into LoraConfig(**metadata).
    private static JsonObject ConfigJson(LoraSettings settings, IReadOnlyList<string> modules, string baseModel) => new()
    {
        ["alpha_pattern"] = new JsonObject(),
        ["base_model_name_or_path"] = baseModel,
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_lora_weights"] = settings.InitWeights,
        ["lora_alpha"] = Number(settings.Alpha),
        ["lora_dropout"] = 0.0,
        ["peft_type"] = "LORA",
        ["r"] = settings.Rank,
        ["rank_pattern"] = new JsonObject(),
        ["target_modules"] = new JsonArray([.. modules.Select(m => (JsonNode)m)]),
        ["task_type"] = null,
        ["use_dora"] = false,
        ["use_rslora"] = false,
    };

    // lora_alpha is an int in PEFT's LoraConfig: write integral values without a fraction.
    private static JsonNode Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < int.MaxValue ? JsonValue.Create((int)value) : JsonValue.Create(value);

    private static JsonObject? StoredConfig(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.TryGetValue(DiffusersMetadataKey, out var raw) && JsonNode.Parse(raw) is JsonObject packed)
        {
            var prefix = Component + ".";
            var own = new JsonObject();
            foreach (var (key, value) in packed.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)))
                own[key[prefix.Length..]] = value?.DeepClone();
            return own;
        }
        var peft = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, PeftConfig);
        if (File.Exists(peft) && JsonNode.Parse(File.ReadAllText(peft)) is JsonObject config) return config;
        if (metadata.TryGetValue("lora_alpha", out var alpha))   // Omni's export before the diffusers/PEFT layouts
            return new JsonObject { ["lora_alpha"] = double.Parse(alpha, CultureInfo.InvariantCulture) };
        return null;
    }

    private static string StripPrefix(string key) =>
        key.StartsWith(PeftPrefix, StringComparison.Ordinal) ? key[PeftPrefix.Length..]
        : key.StartsWith(Component + ".", StringComparison.Ordinal) ? key[(Component.Length + 1)..]
        : key;

    private static List<string> ModuleNames(IEnumerable<string> keys) =>
        [.. keys.Select(k => k[..k.LastIndexOf(".lora_", StringComparison.Ordinal)]).Distinct().Order(StringComparer.Ordinal)];
}

/// <summary>An adapter read by <see cref="LoraFiles.Read"/>.</summary>
/// <param name="Path">The safetensors file.</param>
/// <param name="Settings">Rank (from the tensors), alpha, initialisation and the adapted layers' names.</param>
/// <param name="Keys">Omni's key (<c>&lt;layer&gt;.lora_A.weight</c>) → the key in the file.</param>
public sealed record LoraFile(string Path, LoraSettings Settings, IReadOnlyDictionary<string, string> Keys);
