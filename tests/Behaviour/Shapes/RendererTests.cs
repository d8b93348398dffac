using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>Layouts and rendering: in bounds, no overlaps, relations held by construction, deterministic per seed.</summary>
public sealed class RendererTests
{
    private static readonly ShapesPrompt TwoRedCirclesAboveABlueSquare = ShapesPrompt.Parse("two red circles above a blue square").OrThrow();

    [Theory]
    [InlineData(32)]
    [InlineData(40)]
    [InlineData(48)]
    [InlineData(64)]
    public void Layouts_stay_in_bounds_apart_and_on_their_side_of_the_relation(int size)
    {
        foreach (var prompt in ShapesWorld.AllPrompts.Where((_, i) => i % 7 == 0))
            for (var seed = 0; seed < 3; seed++)
                AssertValid(prompt, ShapeLayout.Place(prompt, size, new Random(seed)), size);
    }

    [Fact]
    public void Every_prompt_fits_and_its_clean_render_scores_at_least_095_at_the_smallest_size()
    {
        foreach (var prompt in ShapesWorld.AllPrompts)
        {
            var layout = ShapeLayout.Place(prompt, ShapeLayout.MinImageSize, new Random(prompt.Text.Length));
            AssertValid(prompt, layout, ShapeLayout.MinImageSize);
            Assert.True(ShapesReward.Evaluate(prompt, ShapesRenderer.Draw(layout, ShapeLayout.MinImageSize)).Total >= 0.95, prompt.Text);
        }
    }

    [Fact]
    public void Objects_land_in_every_cell_of_their_region()
    {
        // "a red circle above a blue square": the circle in one of the 8 upper cells, the square in one of the 8 lower ones.
        var prompt = ShapesPrompt.Parse("a red circle above a blue square").OrThrow();
        var cells = Enumerable.Range(0, 400).Select(seed => ShapeLayout.Place(prompt, 48, new Random(seed)))
            .SelectMany(l => l.Select(o => (o.Group, X: o.Left / 12, Y: o.Top / 12))).ToHashSet();
        Assert.Equal(16, cells.Count);
        Assert.All(cells, c => Assert.Equal(c.Group == 0, c.Y < 2));
    }

    private static void AssertValid(ShapesPrompt prompt, IReadOnlyList<PlacedObject> layout, int size)
    {
        Assert.Equal(prompt.ObjectCount, layout.Count);
        foreach (var o in layout)
        {
            Assert.Equal(ShapeLayout.ObjectSize(size), o.Size);
            Assert.Equal(ShapeLayout.Margin(size), (o.Left - ShapeLayout.GridOrigin(size)) % ShapeLayout.CellSize(size));   // in a cell
            Assert.Equal(ShapeLayout.Margin(size), (o.Top - ShapeLayout.GridOrigin(size)) % ShapeLayout.CellSize(size));
            Assert.InRange(o.Left, 0, size - o.Size);
            Assert.InRange(o.Top, 0, size - o.Size);
            Assert.Equal(prompt.Groups[o.Group].Colour, o.Colour);
            Assert.Equal(prompt.Groups[o.Group].Shape, o.Shape);
        }
        for (var i = 0; i < layout.Count; i++)
            for (var j = i + 1; j < layout.Count; j++)
                Assert.True(layout[i].IsApartFrom(layout[j], ShapeLayout.Gap(size)), $"{prompt}: objects {i} and {j} touch");
        if (prompt.Relation is { } relation)
            AssertSeparatedByTheMiddle(relation, layout, size);
    }

    private static void AssertSeparatedByTheMiddle(Relation relation, IEnumerable<PlacedObject> layout, int size)
    {
        var half = size / 2;
        foreach (var o in layout)
        {
            var near = (o.Group == 0) == (relation is Relation.Above or Relation.LeftOf);
            var (start, end) = relation is Relation.Above or Relation.Below ? (o.Top, o.Top + o.Size) : (o.Left, o.Left + o.Size);
            Assert.True(near ? end <= half : start >= half, $"{relation}: object of group {o.Group} crosses the middle");
        }
    }

    [Fact]
    public void Render_is_deterministic_per_seed_and_varies_across_seeds()
    {
        static byte[] Pixels(int seed) => ShapesRenderer.Render(TwoRedCirclesAboveABlueSquare, 32, new Random(seed)).Pixels.ToArray();
        Assert.Equal(Pixels(3), Pixels(3));
        Assert.NotEqual(Pixels(3), Pixels(4));
    }

    [Fact]
    public void Render_draws_only_the_requested_colours_on_black()
    {
        var image = ShapesRenderer.Render(TwoRedCirclesAboveABlueSquare, 32, new Random(1));
        Assert.Equal((32, 32, 32 * 32 * 3), (image.Width, image.Height, image.Pixels.Length));
        var colours = Enumerable.Range(0, 32 * 32).Select(i => image[i % 32, i / 32]).ToHashSet();
        Assert.Equal(new HashSet<(byte, byte, byte)> { (0, 0, 0), ShapeColours.Rgb(ShapeColour.Red), ShapeColours.Rgb(ShapeColour.Blue) }, colours);
        var background = Enumerable.Range(0, 32 * 32).Count(i => image[i % 32, i / 32] == (0, 0, 0));
        Assert.InRange(background, 32 * 32 * 3 / 4, 32 * 32 - 1);   // three small objects leave most of the image black
    }

    [Theory]
    [InlineData(ShapeKind.Square, 1.0, 1.0)]
    [InlineData(ShapeKind.Circle, 0.7, 0.87)]
    [InlineData(ShapeKind.Triangle, 0.45, 0.7)]
    public void Shapes_have_their_characteristic_fill(ShapeKind shape, double min, double max)
    {
        for (var size = 7; size <= 16; size++)
        {
            var o = new PlacedObject(0, ShapeColour.Green, shape, 2, 2, size);
            var area = Enumerable.Range(0, 20 * 20).Count(i => o.Covers(i % 20, i / 20));
            Assert.InRange(area / (double)(size * size), min, max);
        }
    }

    [Fact]
    public void Triangles_point_up()
    {
        var o = new PlacedObject(0, ShapeColour.Green, ShapeKind.Triangle, 0, 0, 9);
        int Row(int y) => Enumerable.Range(0, 9).Count(x => o.Covers(x, y));
        Assert.True(Row(0) <= 2 && Row(8) == 9, $"apex row {Row(0)}, base row {Row(8)}");
    }

    [Fact]
    public void Too_small_images_and_prompts_outside_the_world_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ShapesRenderer.Render(TwoRedCirclesAboveABlueSquare, ShapeLayout.MinImageSize - 1, new Random(0)));
        var tooMany = new ShapesPrompt(new ObjectGroup(3, ShapeColour.Red, ShapeKind.Circle), Relation.Above, new ObjectGroup(3, ShapeColour.Blue, ShapeKind.Square));
        Assert.Throws<ArgumentException>(() => ShapesRenderer.Render(tooMany, 32, new Random(0)));
    }

    internal static RgbImage Render(string text, int size, int seed) =>
        ShapesRenderer.Render(ShapesPrompt.Parse(text).OrThrow(), size, new Random(seed));
}
