using System.Text.Json;
using Omni.Reporting;

namespace Omni.Tests.Behaviour.Reporting;

public sealed class MetricsLogTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Keys_come_in_one_order_whatever_order_the_metrics_arrive_in()
    {
        var at = Start.AddSeconds(1);
        var forward = new[] { KeyValuePair.Create("reward/mean", 0.5), KeyValuePair.Create("actor/lr", 1e-4), KeyValuePair.Create("time/step_s", 2.0) };
        var first = MetricsLog.Line(3, at, 1.0, forward);
        var second = MetricsLog.Line(3, at, 1.0, forward.Reverse());
        Assert.Equal(first, second);
        using var json = JsonDocument.Parse(first);
        Assert.Equal(["step", "time", "elapsed_s", "actor/lr", "reward/mean", "time/step_s"], json.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Lines_round_trip_and_non_finite_values_stay_valid_json()
    {
        using var dir = new TempDirectory();
        var path = dir.File("runs/a/metrics.jsonl");
        var clock = new ManualClock(Start);
        using (var log = MetricsLog.Open(path, clock))
        {
            clock.Advance(TimeSpan.FromSeconds(2.5));
            log.Append(1, new Dictionary<string, double> { ["reward"] = 0.25, ["kl"] = double.NaN });
            // Flushed per line: another reader sees it before the log is closed.
            Assert.Single(File.ReadAllLines(path));
            clock.Advance(TimeSpan.FromSeconds(1));
            log.Append(2, new Dictionary<string, double> { ["reward"] = 0.5, ["kl"] = double.PositiveInfinity });
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines) JsonDocument.Parse(line).Dispose();
        Assert.Contains("\"kl\":null", lines[0]);
        Assert.Contains("\"time\":\"2026-11-25T07:00:02.500+00:00\"", lines[0]);

        var records = MetricsLog.Read(path);
        Assert.Equal([1L, 2L], records.Select(r => r.Step));
        Assert.Equal(2.5, records[0].ElapsedSeconds);
        Assert.Equal(3.5, records[1].ElapsedSeconds);
        Assert.Equal(0.5, records[1].Values["reward"]);
        Assert.True(double.IsNaN(records[0].Values["kl"]));
        Assert.Equal(Start.AddSeconds(3.5), records[1].Time);
    }

    [Fact]
    public void TruncateAfter_drops_later_steps_and_a_resumed_log_appends()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.jsonl");
        using (var log = MetricsLog.Open(path, new ManualClock(Start)))
            for (var step = 1; step <= 5; step++) log.Append(step, new Dictionary<string, double> { ["reward"] = step });
        File.AppendAllText(path, "{\"step\": 6, \"rew"); // a line torn by a crash

        Assert.Equal(5, MetricsLog.Read(path).Count);
        var last = MetricsLog.TruncateAfter(path, 3);
        Assert.Equal(3, last!.Step);
        using (var log = MetricsLog.Open(path, new ManualClock(Start), elapsedAtStart: 100))
            log.Append(4, new Dictionary<string, double> { ["reward"] = 40 });

        var records = MetricsLog.Read(path);
        Assert.Equal([1L, 2L, 3L, 4L], records.Select(r => r.Step));
        Assert.Equal(40, records[3].Values["reward"]);
        Assert.Equal(100, records[3].ElapsedSeconds);
        Assert.Equal(["metrics.jsonl"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Reserved_names_and_corrupt_middle_lines_are_reported()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.jsonl");
        using (var log = MetricsLog.Open(path))
            Assert.Contains("'step'", Assert.Throws<ArgumentException>(() => log.Append(1, new Dictionary<string, double> { ["step"] = 1 })).Message);
        File.WriteAllLines(path, ["{\"step\": 1}", "garbage", "{\"step\": 3}"]);
        Assert.Contains("line 2", Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path)).Message);
    }

    [Fact]
    public void String_spelled_non_finite_values_from_other_writers_are_read()
    {
        using var dir = new TempDirectory();
        var path = dir.File("py.jsonl");
        File.WriteAllText(path, "{\"step\": 7, \"loss\": \"NaN\", \"kl\": \"Infinity\"}\n");
        var record = Assert.Single(MetricsLog.Read(path));
        Assert.True(double.IsNaN(record.Values["loss"]));
        Assert.Equal(double.PositiveInfinity, record.Values["kl"]);
    }
}
