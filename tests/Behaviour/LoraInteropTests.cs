using System.Text.Json.Nodes;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Effects.Random;
using Omni.Effects.Safetensors;
using Omni.Models.Lora;
using Omni.Models.Sd3;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>
/// LoRA files that the Python tools load unchanged, checked against the conventions of their loaders (diffusers 0.3x
/// <c>lora_base.py</c> / <c>peft.py</c> / <c>peft_utils.py</c>, PEFT <c>save_and_load.py</c>), and the round trip back
/// into Omni from either layout.
/// </summary>
public sealed class LoraInteropTests : IDisposable
{
    private static readonly LoraSettings Settings = new() { Rank = 4, Alpha = 64, TargetModules = [.. LoraTargets.FlowGrpo] };
    private readonly string _dir = Directory.CreateTempSubdirectory("omni-lora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Sd3Transformer2DModel Trained(out string folder)
    {
        var model = LoraTests.Model();
        LoraAdapters.Attach(model, Settings, Generators.Seeded(0));
        var source = NoiseSource.Seeded(5);
        using (no_grad())
            foreach (var (_, t) in LoraAdapters.State(model).Where(p => p.Key.EndsWith("lora_B.weight"))) t.copy_(source.Draw(t.shape) * 0.3);
        folder = Path.Combine(_dir, "final");
        LoraFiles.Save(model, folder, Settings, "models/sd3-tiny");
        return model;
    }

    // diffusers' LoraConfig kwargs for the transformer: the header entry, stripped of the component prefix as
    // load_lora_adapter does (metadata = {k.removeprefix("transformer."): v for k startswith "transformer."}).
    private static JsonObject DiffusersConfig(SafetensorsFile file)
    {
        var packed = JsonNode.Parse(file.Metadata["lora_adapter_metadata"])!.AsObject();
        var config = new JsonObject();
        foreach (var (key, value) in packed.Where(p => p.Key.StartsWith("transformer.")))
            config[key["transformer.".Length..]] = value?.DeepClone();
        return config;
    }

    [Fact]
    public void The_diffusers_file_has_the_name_prefix_and_header_that_load_lora_weights_reads()
    {
        using var scope = NewDisposeScope();
        using var model = Trained(out var folder);
        // _best_guess_weight_name picks pytorch_lora_weights.safetensors among the folder's .safetensors files.
        using var file = SafetensorsFile.Open(Path.Combine(folder, "pytorch_lora_weights.safetensors"));
        // SD3LoraLoaderMixin: every key must contain "lora"; load_lora_into_transformer keeps only "transformer." keys.
        Assert.All(file.Entries.Keys, k => Assert.StartsWith("transformer.", k));
        Assert.All(file.Entries.Keys, k => Assert.Contains("lora", k));
        Assert.Contains("transformer.transformer_blocks.0.attn.to_q.lora_A.weight", file.Entries.Keys);
        Assert.Contains("transformer.transformer_blocks.1.attn.add_v_proj.lora_B.weight", file.Entries.Keys);
        Assert.Equal("pt", file.Metadata["format"]);

        var config = DiffusersConfig(file);
        Assert.Equal(4, config["r"]!.GetValue<int>());
        Assert.Equal(64, config["lora_alpha"]!.GetValue<int>());   // an int, as LoraConfig declares it
        Assert.Equal("gaussian", config["init_lora_weights"]!.GetValue<string>());
        // get_peft_kwargs' target_modules: the module names in the keys.
        var modules = file.Entries.Keys.Select(k => k["transformer.".Length..k.IndexOf(".lora_", StringComparison.Ordinal)]).Distinct().Order();
        Assert.Equal(modules, config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        // The rank diffusers would infer from lora_B's second dimension agrees with "r".
        Assert.All(file.Entries.Where(e => e.Key.Contains("lora_B")), e => Assert.Equal(4, e.Value.Shape[1]));
    }

    [Fact]
    public void The_peft_folder_has_peft_key_names_and_an_adapter_config()
    {
        using var scope = NewDisposeScope();
        using var model = Trained(out var folder);
        using var file = SafetensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
        // PeftModel's own parameters are base_model.model.<module>.lora_A.<adapter>.weight; saved without the adapter name.
        Assert.All(file.Entries.Keys, k => Assert.Matches(@"^base_model\.model\.[\w.]+\.lora_[AB]\.weight$", k));
        Assert.Contains("base_model.model.transformer_blocks.0.attn.to_add_out.lora_B.weight", file.Entries.Keys);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")))!.AsObject();
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal(4, config["r"]!.GetValue<int>());
        Assert.Equal(64, config["lora_alpha"]!.GetValue<int>());
        Assert.Equal("models/sd3-tiny", config["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal(15, config["target_modules"]!.AsArray().Count);
        Assert.Contains("transformer_blocks.0.attn.to_q", config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(config["inference_mode"]!.GetValue<bool>());
        Assert.Equal("none", config["bias"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("")]                                    // the folder: pytorch_lora_weights.safetensors first, as diffusers
    [InlineData("pytorch_lora_weights.safetensors")]
    [InlineData("adapter_model.safetensors")]
    public void Both_layouts_attach_to_a_fresh_model_with_the_same_rank_alpha_and_output(string file)
    {
        using var scope = NewDisposeScope();
        using var trained = Trained(out var folder);
        using var fresh = LoraTests.Model();
        var settings = LoraFiles.AttachFrom(fresh, file.Length == 0 ? folder : Path.Combine(folder, file), Generators.Seeded(123));
        Assert.Equal((4, 64.0), (settings.Rank, settings.Alpha));
        Assert.Equal(15, settings.TargetModules.Length);
        Assert.True(LoraTests.Run(fresh).equal(LoraTests.Run(trained)).all().item<bool>());
    }

    [Fact]
    public void Without_an_alpha_the_diffusers_convention_alpha_equals_rank_applies()
    {
        using var scope = NewDisposeScope();
        using var trained = Trained(out var folder);
        var bare = Path.Combine(_dir, "bare.safetensors");
        using (var file = SafetensorsFile.Open(Path.Combine(folder, "pytorch_lora_weights.safetensors")))
            SafetensorsWriter.Write(bare, file.Entries.Keys.ToDictionary(k => k, k => file.Read(k)));
        var read = LoraFiles.Read(bare).OrThrow();
        Assert.Equal((4, 4.0), (read.Settings.Rank, read.Settings.Alpha));
    }

    [Fact]
    public void An_adapter_for_other_layers_or_not_an_adapter_is_refused_with_the_reason()
    {
        using var scope = NewDisposeScope();
        using var trained = Trained(out var folder);
        var other = Path.Combine(_dir, "other.safetensors");
        SafetensorsWriter.Write(other, new Dictionary<string, Tensor>
        {
            ["transformer.blocks.0.qkv.lora_A.weight"] = zeros(4, 8), ["transformer.blocks.0.qkv.lora_B.weight"] = zeros(8, 4),
        });
        using var fresh = LoraTests.Model();
        Assert.Contains("adapts layers this model does not have: [blocks.0.qkv]",
            Assert.Throws<OmniException>(() => LoraFiles.AttachFrom(fresh, other, Generators.Seeded(0))).Message);

        var weights = Path.Combine(_dir, "weights.safetensors");
        SafetensorsWriter.Write(weights, new Dictionary<string, Tensor> { ["proj_out.weight"] = zeros(2, 2) });
        Assert.Contains("is not a LoRA adapter", LoraFiles.Read(weights).Match(_ => "", e => e.Message));
        Assert.Contains("has neither pytorch_lora_weights.safetensors", LoraFiles.Read(_dir).Match(_ => "", e => e.Message));
    }

    [Fact]
    public void Loading_into_adapters_of_another_rank_names_the_cause()
    {
        using var scope = NewDisposeScope();
        using var trained = Trained(out var folder);
        using var otherRank = LoraTests.Model();
        LoraAdapters.Attach(otherRank, Settings with { Rank = 2 }, Generators.Seeded(0));
        Assert.Contains("another rank", Assert.Throws<OmniException>(() => LoraFiles.Load(otherRank, folder)).Message);
    }
}
