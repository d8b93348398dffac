using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;
using static TorchSharp.torch;

namespace Omni.Shapes.Pretraining;

/// <summary>
/// One batch of pretraining data: token ids (B, L) — the caption: a training prompt, or the empty prompt for the
/// dropped-out rows — and freshly rendered images (B, 3, H, W) in the model's [−1, 1] space. Disposing it disposes
/// both tensors.
/// </summary>
/// <param name="Tokens">(B, L) int64: each row's caption.</param>
/// <param name="Images">(B, 3, H, W) float32 in [−1, 1].</param>
/// <param name="Prompts">The prompt each image shows (its caption may describe another scene, see <see cref="Draw"/>).</param>
/// <param name="Captions">The prompt each row's caption names; null for a dropped-out (empty) caption.</param>
public sealed record PretrainingBatch(Tensor Tokens, Tensor Images, IReadOnlyList<ShapesPrompt> Prompts, IReadOnlyList<ShapesPrompt?> Captions) : IDisposable
{
    /// <summary>
    /// Draws <paramref name="size"/> training prompts from <paramref name="rng"/> and renders each at
    /// <paramref name="imageSize"/>. With probability <paramref name="captionNoise"/> a row's caption is another,
    /// independently drawn training prompt (a mismatched caption, as alt text on the web often is); then, with
    /// probability <paramref name="textDropout"/>, the caption is dropped to the empty prompt.
    /// </summary>
    /// <remarks>With no caption noise the generator is consumed exactly as without the option.</remarks>
    public static PretrainingBatch Draw(System.Random rng, int size, int imageSize, double textDropout, double captionNoise = 0)
    {
        var prompts = new ShapesPrompt[size];
        var captions = new ShapesPrompt?[size];
        var images = new Algebra.Rewards.RgbImage[size];
        var ids = new long[size * ShapesVocabulary.MaxTokens];
        for (var i = 0; i < size; i++)
        {
            prompts[i] = ShapesWorld.SampleTraining(rng);
            images[i] = ShapesRenderer.Render(prompts[i], imageSize, rng);
            var caption = captionNoise > 0 && rng.NextDouble() < captionNoise ? ShapesWorld.SampleTraining(rng) : prompts[i];
            if (rng.NextDouble() < textDropout) continue;   // all padding: the empty prompt
            captions[i] = caption;
            var row = ShapesVocabulary.Tokenize(caption);
            for (var j = 0; j < row.Length; j++) ids[i * ShapesVocabulary.MaxTokens + j] = row[j];
        }
        using var pixels = Algebra.Rewards.RgbImage.ToTensor(images);
        return new PretrainingBatch(tensor(ids, [size, ShapesVocabulary.MaxTokens]), ShapesImages.Encode(pixels), prompts, captions);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        Images.Dispose();
    }
}
