using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;
using static TorchSharp.torch;

namespace Omni.Shapes.Pretraining;

/// <summary>
/// One batch of pretraining data: token ids (B, L) — a training prompt, or the empty prompt for the dropped-out
/// rows — and freshly rendered images (B, 3, H, W) in the model's [−1, 1] space. Disposing it disposes both tensors.
/// </summary>
/// <param name="Tokens">(B, L) int64.</param>
/// <param name="Images">(B, 3, H, W) float32 in [−1, 1].</param>
/// <param name="Prompts">The prompt each image shows.</param>
public sealed record PretrainingBatch(Tensor Tokens, Tensor Images, IReadOnlyList<ShapesPrompt> Prompts) : IDisposable
{
    /// <summary>
    /// Draws <paramref name="size"/> training prompts from <paramref name="rng"/>, renders each at
    /// <paramref name="imageSize"/>, and drops each prompt to the empty one with probability <paramref name="textDropout"/>.
    /// </summary>
    public static PretrainingBatch Draw(System.Random rng, int size, int imageSize, double textDropout)
    {
        var prompts = new ShapesPrompt[size];
        var images = new Algebra.Rewards.RgbImage[size];
        var ids = new long[size * ShapesVocabulary.MaxTokens];
        for (var i = 0; i < size; i++)
        {
            prompts[i] = ShapesWorld.SampleTraining(rng);
            images[i] = ShapesRenderer.Render(prompts[i], imageSize, rng);
            if (rng.NextDouble() < textDropout) continue;   // all padding: the empty prompt
            var row = ShapesVocabulary.Tokenize(prompts[i]);
            for (var j = 0; j < row.Length; j++) ids[i * ShapesVocabulary.MaxTokens + j] = row[j];
        }
        using var pixels = Algebra.Rewards.RgbImage.ToTensor(images);
        return new PretrainingBatch(tensor(ids, [size, ShapesVocabulary.MaxTokens]), ShapesImages.Encode(pixels), prompts);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        Images.Dispose();
    }
}
