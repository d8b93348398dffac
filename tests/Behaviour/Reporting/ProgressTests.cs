using Omni.Reporting;

namespace Omni.Tests.Behaviour.Reporting;

public sealed class ProgressTests
{
    private static KeyValuePair<string, double> M(string name, double value) => new(name, value);

    [Fact]
    public void Line_shows_speed_eta_and_metrics()
    {
        var line = ProgressFormat.Line(12, 200, 3.128, [M("reward", 0.41234), M("kl", 0.0012)]);
        // 188 steps left × 3.128 s = 588 s = 09:48.
        Assert.Equal("step 12/200 | 3.1 s/step | ETA 09:48 | reward 0.412 | kl 0.0012", line);
        Assert.Equal("step 0/10 | ETA --:-- | loss nan", ProgressFormat.Line(0, 10, null, [M("loss", double.NaN)]));
    }

    [Theory]
    [InlineData(59.4, "00:59")]
    [InlineData(3599, "59:59")]
    [InlineData(3600, "1:00:00")]
    [InlineData(90061, "1d 01:01")]
    public void Durations_format_by_size(double seconds, string expected) =>
        Assert.Equal(expected, ProgressFormat.Duration(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(12345.0, "1.23e+4")]
    [InlineData(-0.00001234, "-1.23e-5")]
    [InlineData(1.5, "1.5")]
    public void Numbers_keep_three_significant_digits(double value, string expected) =>
        Assert.Equal(expected, ProgressFormat.Number(value));

    [Fact]
    public void Eta_follows_the_moving_average_of_recent_steps()
    {
        var window = StepDurations.Empty(2).Add(10).Add(2).Add(4);
        Assert.Equal(3, window.Mean);
    }

    [Fact]
    public void Plain_output_prints_first_last_and_at_the_cadence()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, total: 10, rewriteLine: false, clock, plainInterval: TimeSpan.FromSeconds(5));
        for (var step = 1; step <= 10; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            progress.Report(step, [M("reward", step / 10.0)]);
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Step 1, then every 3rd step (6 s ≥ 5 s), then the last.
        Assert.Equal(["step 1/10", "step 4/10", "step 7/10", "step 10/10"], lines.Select(l => l.Split(" | ")[0]));
        Assert.Equal("step 4/10 | 2.0 s/step | ETA 00:12 | reward 0.4", lines[1]);
    }

    [Fact]
    public void Terminal_output_rewrites_one_line()
    {
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, total: 2, rewriteLine: true, new ManualClock(DateTimeOffset.UnixEpoch));
        progress.Report(1, [M("a_long_metric_name", 1)]);
        progress.Report(2, []);
        var text = output.ToString();
        Assert.StartsWith("\rstep 1/2", text);
        Assert.Contains("\rstep 2/2", text);
        Assert.EndsWith("\n", text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
