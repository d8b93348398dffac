namespace Omni.Effects.Safetensors;

/// <summary>
/// Finds a diffusers component's weights in its folder: <c>diffusion_pytorch_model[.variant].safetensors</c>, or the
/// sharded <c>…safetensors.index.json</c>; <c>model.safetensors</c> names (transformers-style) are accepted too.
/// </summary>
public static class WeightFiles
{
    /// <summary>Opens the folder's weights (the given variant, e.g. <c>fp16</c>, is preferred when present).</summary>
    public static ITensorSource Open(string folder, string? variant = null)
    {
        var stems = new[] { "diffusion_pytorch_model", "model" };
        var suffixes = variant is null ? [""] : new[] { $".{variant}", "" };
        foreach (var suffix in suffixes)
        foreach (var stem in stems)
        {
            var single = Path.Combine(folder, $"{stem}{suffix}.safetensors");
            if (File.Exists(single)) return SafetensorsFile.Open(single);
            var index = Path.Combine(folder, $"{stem}{suffix}.safetensors.index.json");
            if (File.Exists(index)) return ShardedCheckpoint.Open(index);
        }
        throw new SafetensorsException(
            $"No safetensors weights in '{folder}': expected diffusion_pytorch_model{(variant is null ? "" : $"[.{variant}]")}.safetensors or its .index.json.");
    }
}
