using Omni.Algebra.Config;
using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Models.Lora;

/// <summary>
/// Low-rank adaptation over a model built from <see cref="AdaptableLinear"/> layers: attach adapters by name
/// pattern, switch them off (the reference policy for the KL term), merge and unmerge, train only them; their tensors
/// under PEFT's per-layer names (<c>{layer}.lora_A.weight</c>, <c>{layer}.lora_B.weight</c>). <see cref="LoraFiles"/>
/// saves and loads them in diffusers' and PEFT's layouts.
/// </summary>
public static class LoraAdapters
{
    /// <summary>
    /// Attaches an adapter to every linear layer matching <paramref name="settings"/>' target modules (rank, alpha);
    /// A is drawn from <paramref name="generator"/>. Returns the adapted layer names; no match is an error that lists
    /// the layers there are.
    /// </summary>
    public static IReadOnlyList<string> Attach(nn.Module model, LoraSettings settings, Generator generator)
    {
        if (!settings.Enabled) throw new ArgumentException("LoRA needs a positive rank.", nameof(settings));
        var layers = Layers(model).ToList();
        var chosen = layers.Where(l => LoraTargets.Matches(l.Name, settings.TargetModules)).ToList();
        if (chosen.Count == 0)
            throw new ArgumentException(
                $"No linear layer matches the LoRA targets [{string.Join(", ", settings.TargetModules)}]. Layers: [{string.Join(", ", layers.Take(40).Select(l => l.Name))}{(layers.Count > 40 ? ", …" : "")}].",
                nameof(settings));
        foreach (var (_, layer) in chosen) layer.AttachAdapter(settings.Rank, settings.Alpha, generator);
        return chosen.Select(l => l.Name).ToList();
    }

    /// <summary>Turns every adapter on or off (off = the base model, the reference policy).</summary>
    public static void SetEnabled(nn.Module model, bool enabled)
    {
        foreach (var (_, layer) in Adapted(model))
        {
            if (layer.Merged) throw new InvalidOperationException("Unmerge the adapters before switching them off.");
            layer.AdapterEnabled = enabled;
        }
    }

    /// <summary>Runs <paramref name="action"/> with the adapters off, then restores them.</summary>
    public static T WithAdaptersDisabled<T>(nn.Module model, Func<T> action)
    {
        SetEnabled(model, false);
        try { return action(); }
        finally { SetEnabled(model, true); }
    }

    /// <summary>Folds every adapter into its base weight.</summary>
    public static void Merge(nn.Module model)
    {
        foreach (var (_, layer) in Adapted(model)) layer.Merge();
    }

    /// <summary>Separates every merged adapter from its base weight again.</summary>
    public static void Unmerge(nn.Module model)
    {
        foreach (var (_, layer) in Adapted(model)) layer.Unmerge();
    }

    /// <summary>Freezes everything but the adapters and returns the adapter parameters (what the optimizer trains).</summary>
    public static IReadOnlyList<Parameter> TrainOnlyAdapters(nn.Module model)
    {
        foreach (var p in model.parameters()) p.requires_grad = false;
        var trainable = Adapted(model).SelectMany(l => new[] { l.Layer.LoraA!.weight!, l.Layer.LoraB!.weight! }).ToList();
        foreach (var p in trainable) p.requires_grad = true;
        return trainable;
    }

    /// <summary>The adapter tensors under PEFT/diffusers key names (views of the live weights).</summary>
    public static IReadOnlyDictionary<string, Tensor> State(nn.Module model) =>
        Adapted(model).SelectMany(l => new[]
        {
            KeyValuePair.Create($"{l.Name}.lora_A.weight", (Tensor)l.Layer.LoraA!.weight!),
            KeyValuePair.Create($"{l.Name}.lora_B.weight", (Tensor)l.Layer.LoraB!.weight!),
        }).ToDictionary();

    private static IEnumerable<(string Name, AdaptableLinear Layer)> Layers(nn.Module model) =>
        model.named_modules().Where(m => m.module is AdaptableLinear).Select(m => (m.name, (AdaptableLinear)m.module));

    private static IEnumerable<(string Name, AdaptableLinear Layer)> Adapted(nn.Module model) => Layers(model).Where(l => l.Layer.HasAdapter);
}
