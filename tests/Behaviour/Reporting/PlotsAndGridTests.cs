using Omni.Effects.Imaging;
using Omni.Reporting;
using Omni.Tests.Behaviour.Rewards;

namespace Omni.Tests.Behaviour.Reporting;

public sealed class PlotsAndGridTests
{
    private static int DistinctColours(Omni.Algebra.Rewards.RgbImage image)
    {
        var span = image.Pixels.Span;
        var colours = new HashSet<int>();
        for (var i = 0; i < span.Length; i += 3) colours.Add(span[i] << 16 | span[i + 1] << 8 | span[i + 2]);
        return colours.Count;
    }

    [Fact]
    public void A_line_chart_with_gaps_is_a_png_of_the_requested_size()
    {
        using var dir = new TempDirectory();
        var path = dir.File("charts/reward.png");
        IReadOnlyList<(double, double)> a = [(0, 0.1), (1, 0.3), (2, double.NaN), (3, 0.2), (4, 0.5)];
        IReadOnlyList<(double, double)> b = Enumerable.Range(0, 100).Select(i => ((double)i, Math.Sin(i / 10.0))).ToList();
        Plots.SaveLineChart(path, "reward", "step", [("mean", a), ("sin", b)], yLabel: "value", width: 640, height: 400);
        var image = ImageCodecs.DecodePng(File.ReadAllBytes(path));
        Assert.Equal((640, 400), (image.Width, image.Height));
        Assert.True(DistinctColours(image) > 10, "a chart has axes, text and coloured lines");
    }

    [Fact]
    public void Segments_break_at_non_finite_points()
    {
        var segments = Plots.Segments([(0, 1), (1, double.NaN), (2, 2), (3, 3), (double.PositiveInfinity, 4)]);
        Assert.Equal([1, 2], segments.Select(s => s.Count));
    }

    [Fact]
    public void FromMetrics_writes_one_chart_per_present_metric()
    {
        using var dir = new TempDirectory();
        var metrics = dir.File("metrics.jsonl");
        using (var log = MetricsLog.Open(metrics))
            for (var step = 1; step <= 20; step++)
                log.Append(step, new Dictionary<string, double> { ["reward"] = step * 0.1, ["kl"] = step % 5 == 0 ? double.NaN : 0.001 * step });
        var written = Plots.FromMetrics(metrics, dir.File("plots"), "reward", "kl", "clipfrac");
        Assert.Equal(["kl.png", "reward.png"], written.Select(Path.GetFileName).Order());
        foreach (var file in written)
            Assert.Equal(800, ImageCodecs.DecodePng(File.ReadAllBytes(file)).Width);
    }

    [Fact]
    public void Grid_tiles_upscaled_images_with_padding()
    {
        var images = Enumerable.Range(0, 5).Select(i => TestImages.Noise(4, 3, seed: i)).ToList();
        var grid = SampleGrid.Compose(images, columns: 3, padding: 2, scale: 2, background: 7);
        // 3 columns × (8 + 2) + 2 = 32 wide; 2 rows × (6 + 2) + 2 = 18 high.
        Assert.Equal((32, 18), (grid.Width, grid.Height));
        Assert.Equal((7, 7, 7), ((int, int, int))grid[0, 0]);
        // Tile 4 (row 1, column 1) starts at (12, 10); its source pixel (1, 2) covers (14..15, 14..15).
        var source = images[4][1, 2];
        Assert.Equal(source, grid[14, 14]);
        Assert.Equal(source, grid[15, 15]);
        Assert.Equal((7, 7, 7), ((int, int, int))grid[25, 12]); // the empty sixth cell
    }

    [Fact]
    public void Grid_is_saved_as_a_png_and_rejects_mixed_sizes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("samples/step-10.png");
        var grid = SampleGrid.Save(path, [TestImages.Noise(32, 32, 1), TestImages.Flat(32, 32, 255, 0, 0)], columns: 2, padding: 1, scale: 4);
        var back = ImageCodecs.DecodePng(File.ReadAllBytes(path));
        Assert.Equal((259, 130), (back.Width, back.Height));
        Assert.Equal(grid.Pixels.ToArray(), back.Pixels.ToArray());
        Assert.True(DistinctColours(back) > 100);
        Assert.Contains("image 1 is 2×2", Assert.Throws<ArgumentException>(
            () => SampleGrid.Compose([TestImages.Flat(3, 3, 0, 0, 0), TestImages.Flat(2, 2, 0, 0, 0)], 2, 0)).Message.ToLowerInvariant());
    }
}
