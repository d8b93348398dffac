using System.Collections.Immutable;

namespace Omni.Algebra.Rewards;

/// <summary>What a reward function scores: one image (or latent), prompt and metadata row per sample.</summary>
/// <param name="Images">The generated images; empty when the architecture has no decoder (<c>Decoding.None</c>).</param>
/// <param name="Prompts">The prompt of each image.</param>
/// <param name="Metadata">Free-form per-sample metadata (e.g. a target text, a group id); may be empty per row.</param>
public sealed record RewardBatch(
    ImmutableArray<RgbImage> Images,
    ImmutableArray<string> Prompts,
    ImmutableArray<ImmutableDictionary<string, string>> Metadata)
{
    /// <summary>Number of samples.</summary>
    public int Count => Prompts.Length;

    /// <summary>
    /// The final latents (B, …) float32 on the CPU, for rewards that score latents; set by the trainer when the architecture
    /// has no decoder, null otherwise.
    /// </summary>
    public TorchSharp.torch.Tensor? Latents { get; init; }

    /// <summary>A batch with empty metadata rows.</summary>
    public static RewardBatch Of(IEnumerable<RgbImage> images, IEnumerable<string> prompts)
    {
        var imgs = images.ToImmutableArray();
        var texts = prompts.ToImmutableArray();
        if (imgs.Length != texts.Length)
            throw new ArgumentException($"{imgs.Length} images but {texts.Length} prompts; a reward batch needs one prompt per image.");
        return new RewardBatch(imgs, texts,
            Enumerable.Repeat(ImmutableDictionary<string, string>.Empty, imgs.Length).ToImmutableArray());
    }
}
