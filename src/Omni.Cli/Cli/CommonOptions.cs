using System.CommandLine;

namespace Omni.Cli.Cli;

/// <summary>Options shared by the commands, and the mapping of friendly flags onto configuration keys.</summary>
public static class CommonOptions
{
    /// <summary><c>--config</c>: a JSON configuration file.</summary>
    public static Option<string?> Config() => new("--config", "-c") { Description = "JSON configuration file (sections: training, actor_rollout_ref:model, omni)." };

    /// <summary><c>--set</c>: any configuration key.</summary>
    public static Option<string[]> Set() => new("--set") { Description = "Override any configuration key, e.g. --set training:ClipRatio=1e-3 (repeatable).", AllowMultipleArgumentsPerToken = false };

    /// <summary><c>--model</c>: a pipeline folder.</summary>
    public static Option<string?> Model() => new("--model", "-m") { Description = "Diffusers pipeline folder (default: the bundled models/omni-shapes-tiny)." };

    /// <summary><c>--lora</c>: a trained LoRA adapter (diffusers or PEFT layout, file or folder).</summary>
    public static Option<string?> Lora() => new("--lora") { Description = "LoRA adapter to start from or sample with: pytorch_lora_weights.safetensors (diffusers), adapter_model.safetensors (PEFT) or a folder with either; its layers, rank and alpha are used." };

    /// <summary><c>--seed</c>.</summary>
    public static Option<long?> Seed() => new("--seed") { Description = "Seed (prompts, noise, windows)." };

    /// <summary>Flags given explicitly, as configuration pairs (absent flags are left out so lower layers show through).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> Pairs(params (string Key, object? Value)[] flags) =>
        flags.Where(f => f.Value is not null)
             .Select(f => new KeyValuePair<string, string?>(f.Key, Convert.ToString(f.Value, System.Globalization.CultureInfo.InvariantCulture)));
}
