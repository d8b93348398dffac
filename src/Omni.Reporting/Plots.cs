using Omni.Effects.Imaging;

namespace Omni.Reporting;

/// <summary>Line charts of training metrics as PNG files, drawn with ScottPlot (SkiaSharp underneath).</summary>
public static class Plots
{
    /// <summary>
    /// Draws each series as a line with markers and writes a PNG at <paramref name="path"/> (atomically, creating the
    /// directory). A point whose X or Y is NaN or infinite breaks the line there instead of being drawn.
    /// </summary>
    /// <param name="path">The PNG file.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="xLabel">X axis label.</param>
    /// <param name="series">Named series of (x, y) points; a legend is shown when there is more than one.</param>
    /// <param name="yLabel">Y axis label; none when omitted.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static void SaveLineChart(
        string path, string title, string xLabel,
        IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series,
        string? yLabel = null, int width = 800, int height = 500)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        if (yLabel is not null) plot.YLabel(yLabel);
        var palette = new ScottPlot.Palettes.Category10();
        for (var s = 0; s < series.Count; s++)
        {
            var color = palette.GetColor(s);
            var first = true;
            foreach (var segment in Segments(series[s].Points))
            {
                var line = plot.Add.Scatter(segment.Select(p => p.X).ToArray(), segment.Select(p => p.Y).ToArray(), color);
                line.MarkerSize = segment.Count > 50 ? 0 : 4;
                if (segment.Count == 1) line.MarkerSize = 4;
                line.LineWidth = 1.5f;
                // One legend entry per series, not per segment.
                if (first) line.LegendText = series[s].Name;
                first = false;
            }
        }
        if (series.Count > 1) plot.ShowLegend();
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }

    /// <summary>
    /// One chart per metric from a metrics log: <c>&lt;outputDir&gt;/&lt;metric&gt;.png</c> (characters that are unsafe
    /// in file names become '_'), step on the X axis. Metrics absent from every record are skipped.
    /// </summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> FromMetrics(string metricsPath, string outputDir, params string[] metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var records = MetricsLog.Read(metricsPath);
        var written = new List<string>();
        foreach (var metric in metrics)
        {
            var points = records.Where(r => r.Values.ContainsKey(metric))
                .Select(r => ((double)r.Step, r.Values[metric])).ToList();
            if (points.Count == 0) continue;
            var file = Path.Combine(outputDir, FileName(metric) + ".png");
            SaveLineChart(file, metric, "step", [(metric, points)], yLabel: metric);
            written.Add(file);
        }
        return written;
    }

    /// <summary>Splits points into runs of finite points (a non-finite point ends a run). Pure.</summary>
    public static IReadOnlyList<IReadOnlyList<(double X, double Y)>> Segments(IReadOnlyList<(double X, double Y)> points)
    {
        var segments = new List<IReadOnlyList<(double X, double Y)>>();
        var current = new List<(double X, double Y)>();
        foreach (var p in points)
        {
            if (double.IsFinite(p.X) && double.IsFinite(p.Y)) { current.Add(p); continue; }
            if (current.Count > 0) segments.Add(current);
            current = [];
        }
        if (current.Count > 0) segments.Add(current);
        return segments;
    }

    private static string FileName(string metric)
    {
        var invalid = Path.GetInvalidFileNameChars().Concat(['\\', ':', ' ']).ToHashSet();
        return new string(metric.Select(c => invalid.Contains(c) ? '_' : c).ToArray());
    }
}
