using System.Collections.Immutable;
using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>The shapes reward: perfect on correct renders, lower on the criterion a wrong image gets wrong, robust to noise.</summary>
public sealed class RewardTests
{
    private static ShapesPrompt P(string text) => ShapesPrompt.Parse(text).OrThrow();

    private static ShapesScore Score(string prompt, RgbImage image) => ShapesReward.Evaluate(P(prompt), image);

    [Fact]
    public void Correct_renders_of_every_prompt_score_at_least_095()
    {
        var totals = new List<double>();
        var worst = (Total: 1.0, Prompt: "");
        foreach (var prompt in ShapesWorld.AllPrompts)
            for (var seed = 0; seed < 3; seed++)
            {
                var total = ShapesReward.Evaluate(prompt, ShapesRenderer.Render(prompt, ShapesRenderer.DefaultSize, new Random(seed))).Total;
                totals.Add(total);
                if (total < worst.Total) worst = (total, $"{prompt} (seed {seed})");
            }
        Assert.True(worst.Total >= 0.95, $"worst: {worst.Prompt} scored {worst.Total:F3}");
        Assert.True(totals.Average() >= 0.995, $"mean {totals.Average():F4}");
    }

    [Theory]
    [InlineData(48)]
    [InlineData(64)]
    public void Correct_renders_at_larger_sizes_score_at_least_095(int size)
    {
        foreach (var prompt in ShapesWorld.AllPrompts.Where((_, i) => i % 5 == 0))
        {
            var score = ShapesReward.Evaluate(prompt, ShapesRenderer.Render(prompt, size, new Random(size)));
            Assert.True(score.Total >= 0.95, $"{prompt} at {size}: {score}");
        }
    }

    [Fact]
    public void Wrong_colour_loses_colour_credit()
    {
        var score = Score("two red circles", RendererTests.Render("two green circles", 32, 1));
        Assert.Equal(0, score.Colour);
        Assert.True(score.Total <= 0.5, score.ToString());
    }

    [Fact]
    public void A_flood_of_the_requested_colour_is_not_an_object()
    {
        // A 20×20 red block for "a red square": the colour is right, but it is no square the world draws.
        var pixels = new byte[32 * 32 * 3];
        for (var y = 6; y < 26; y++)
            for (var x = 6; x < 26; x++)
                pixels[(y * 32 + x) * 3] = 255;
        var score = Score("a red square", new RgbImage(32, 32, pixels));
        Assert.Equal(1, score.Colour);
        Assert.Equal(0, score.Counting);
        Assert.Equal(0, score.Shape);
        // The same colour at the largest size the renderer draws (8×8) is a square.
        Assert.Equal(1, Score("a red square", RendererTests.Render("a red square", 32, 1)).Total, 6);
    }

    [Fact]
    public void Wrong_count_loses_counting_credit()
    {
        var score = Score("three yellow squares", RendererTests.Render("a yellow square", 32, 1));
        Assert.Equal(1 - 2 / 3.0, score.Counting, 6);
        Assert.Equal(1, score.Colour);
        Assert.Equal(1, score.Shape);
    }

    [Fact]
    public void Wrong_shape_loses_shape_credit()
    {
        var score = Score("two blue triangles", RendererTests.Render("two blue circles", 32, 2));
        Assert.Equal(0, score.Shape);
        Assert.Equal(1, score.Counting);
    }

    [Theory]
    [InlineData("two red circles above a blue square", "a blue square above two red circles")]
    [InlineData("a green triangle left of a yellow circle", "a green triangle right of a yellow circle")]
    [InlineData("a red square below two red triangles", "a red square above two red triangles")]
    public void Swapped_relation_loses_position_credit(string asked, string drawn)
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var score = Score(asked, RendererTests.Render(drawn, 32, seed));
            Assert.Equal(0, score.Position);
            Assert.Equal(1, score.Counting);
            Assert.Equal(0.75, score.Total, 6);
        }
    }

    [Fact]
    public void Single_group_prompts_have_no_position_and_their_total_averages_three_criteria()
    {
        // "a red circle" drawn as two red circles: count 1 − 1/1 = 0, colour 1, shape 1.
        var score = Score("a red circle", RendererTests.Render("two red circles", 32, 3));
        Assert.Null(score.Position);
        Assert.Equal(2 / 3.0, score.Total, 6);
        var relation = Score("a red circle above a blue square", RendererTests.Render("a red circle above a blue square", 32, 3));
        Assert.Equal(1, relation.Position);
    }

    [Fact]
    public void Black_and_uniform_noise_images_score_low()
    {
        var black = new RgbImage(32, 32, new byte[32 * 32 * 3]);
        Assert.Equal(new ShapesScore(0, 0, 0, 0, 0), Score("a red circle above a blue square", black));
        Assert.Equal(0, Score("three green triangles", black).Total);
        var rng = new Random(5);
        foreach (var prompt in ShapesWorld.HeldOut)
        {
            var score = ShapesReward.Evaluate(prompt, ImageDistortions.UniformNoise(32, rng));
            Assert.True(score.Total <= 0.35, $"{prompt}: {score}");
        }
    }

    [Fact]
    public void Mild_gaussian_noise_on_correct_renders_keeps_the_score_above_09()
    {
        var rng = new Random(11);
        foreach (var prompt in ShapesWorld.AllPrompts.Where((_, i) => i % 3 == 0))
        {
            var noisy = ImageDistortions.GaussianNoise(ShapesRenderer.Render(prompt, ShapesRenderer.DefaultSize, rng), 20, rng);
            var score = ShapesReward.Evaluate(prompt, noisy);
            Assert.True(score.Total >= 0.9, $"{prompt}: {score}");
        }
    }

    [Fact]
    public void Blurred_correct_renders_keep_most_of_the_credit()
    {
        var rng = new Random(13);
        var totals = ShapesWorld.AllPrompts.Where((_, i) => i % 3 == 0)
            .Select(p => ShapesReward.Evaluate(p, ImageDistortions.BoxBlur(ShapesRenderer.Render(p, ShapesRenderer.DefaultSize, rng))).Total)
            .ToArray();
        Assert.True(totals.Average() >= 0.9, $"mean {totals.Average():F3}, min {totals.Min():F3}");
    }

    [Fact]
    public void Scores_are_within_the_unit_interval()
    {
        var rng = new Random(17);
        foreach (var prompt in ShapesWorld.HeldOut)
        {
            var other = ShapesWorld.Training[rng.Next(ShapesWorld.Training.Length)];
            var s = ShapesReward.Evaluate(prompt, ShapesRenderer.Render(other, 32, rng));
            Assert.All(new[] { s.Total, s.Counting, s.Colour, s.Shape, s.Position ?? 0 }, v => Assert.InRange(v, 0, 1));
        }
    }

    [Fact]
    public async Task Reward_function_returns_one_score_per_sample()
    {
        var prompts = ShapesWorld.HeldOut.Take(5).ToArray();
        var images = prompts.Select((p, i) => ShapesRenderer.Render(p, 32, new Random(i))).ToList();
        images[4] = new RgbImage(32, 32, new byte[32 * 32 * 3]);
        var scores = await ShapesReward.Function.Score(RewardBatch.Of(images, prompts.Select(p => p.Text)), CancellationToken.None);
        Assert.Equal("shapes", ShapesReward.Function.Name);
        Assert.Equal(5, scores.Length);
        Assert.All(scores.Take(4), s => Assert.True(s >= 0.95f, $"score {s}"));
        Assert.Equal(0f, scores[4]);
    }

    [Fact]
    public async Task Reward_function_rejects_an_unparseable_prompt_by_name()
    {
        var image = new RgbImage(32, 32, new byte[32 * 32 * 3]);
        var batch = RewardBatch.Of([image, image], ["a red circle", "a cat on a mat"]);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => ShapesReward.Function.Score(batch, CancellationToken.None));
        Assert.Contains("a cat on a mat", error.Message);
    }

    [Fact]
    public void Detector_reads_colour_shape_and_position_of_a_render()
    {
        var layout = ImmutableArray.Create(
            new PlacedObject(0, ShapeColour.Yellow, ShapeKind.Triangle, 3, 3, 8),
            new PlacedObject(1, ShapeColour.Blue, ShapeKind.Circle, 20, 20, 8));
        var found = ShapesDetector.Detect(ShapesRenderer.Draw(layout, 32));
        Assert.Equal(2, found.Length);
        Assert.Equal((ShapeColour.Yellow, ShapeKind.Triangle), (found[0].Colour, found[0].Shape));
        Assert.Equal((ShapeColour.Blue, ShapeKind.Circle), (found[1].Colour, found[1].Shape));
        Assert.Equal(24, found[1].CentreX, 1);
        Assert.Equal(24, found[1].CentreY, 1);
    }
}
