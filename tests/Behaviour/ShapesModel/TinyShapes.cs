using Omni.Models.Sd3;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.ShapesModel;

/// <summary>Small configurations of the bundled shapes model, so tests run in milliseconds.</summary>
internal static class TinyShapes
{
    public static ShapesTextEncoderConfig Text { get; } = new()
    {
        VocabSize = ShapesVocabulary.Words.Count, MaxPositionEmbeddings = ShapesVocabulary.MaxTokens,
        HiddenSize = 32, NumAttentionHeads = 2, IntermediateSize = 64, ProjectionDim = 24,
    };

    public static Sd3Config Denoiser { get; } = ShapesDenoiser.Tiny(textWidth: 32, pooledWidth: 24, layers: 2, heads: 2, headDim: 16);

    public static ShapesPipeline Create(long seed = 0) => ShapesPipeline.Create(Text, Denoiser, seed);

    /// <summary>The repository root (the folder holding Functional.sln).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Functional.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Functional.sln not found above the test output folder.");
    }
}
