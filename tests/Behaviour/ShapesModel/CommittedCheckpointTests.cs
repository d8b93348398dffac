using Omni.Shapes.Pipeline;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.ShapesModel;

/// <summary>The checkpoint committed at <c>models/omni-shapes-tiny</c>: it loads, and it draws but leaves RL room.</summary>
public sealed class CommittedCheckpointTests
{
    private static readonly string Folder = Path.Combine(TinyShapes.RepositoryRoot(), "models", "omni-shapes-tiny");

    [Fact]
    public void The_committed_checkpoint_loads_and_is_small()
    {
        using var pipeline = ShapesPipelineFolder.Load(Folder).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
        Assert.Equal(40, pipeline.ImageSize);
        var bytes = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes < 20L << 20, $"{bytes} bytes");
    }

    [Fact]
    public void Its_held_out_reward_is_clearly_above_chance_and_clearly_below_perfect()
    {
        using var pipeline = ShapesPipelineFolder.Load(Folder).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
        // One sample per held-out prompt (seeds 0–31) with the default sampling (ODE, 10 steps, CFG 1): 32 images, ~2 s.
        // Measured 0.348 at commit time; 0.357 with 8 seeds per prompt (docs/shapes-model.md).
        var result = ShapesEvaluation.HeldOutReward(pipeline, seedsPerPrompt: 1);
        Assert.Equal(ShapesWorld.HeldOut.Length, result.Samples);
        Assert.InRange(result.Total, RewardLow, RewardHigh);
    }

    [Fact]
    public void Under_guidance_it_draws_the_requested_shapes()
    {
        using var pipeline = ShapesPipelineFolder.Load(Folder).Match(p => p, e => throw new Xunit.Sdk.XunitException(e.Message));
        // Two samples per held-out prompt at CFG 4 (64 images): measured shape 0.869 at commit time, 0.788 with 8 seeds per prompt (docs/shapes-model.md).
        var result = ShapesEvaluation.HeldOutReward(pipeline, seedsPerPrompt: 2, sampling: new ShapesSampling(GuidanceScale: Guided));
        Assert.True(result.Shape >= GuidedShapeLow, $"shape {result.Shape:F3} under CFG {Guided}: {result}");
    }

    // The band: clearly above an empty image (0) and a random scene (about 0.15), clearly below what the same weights
    // reach with guidance (0.577 at CFG 4), with room for libtorch-version drift. The last third of its pretraining paired
    // 80 % of the images with mismatched captions, so unguided it often ignores its prompt.
    private const double RewardLow = 0.25;
    private const double RewardHigh = 0.48;

    // Issue 16 asks for a held-out shape criterion of at least 0.70 with the prompt followed.
    private const double Guided = 4;
    private const double GuidedShapeLow = 0.70;
}
