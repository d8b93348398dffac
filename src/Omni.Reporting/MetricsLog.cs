using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Omni.Effects.Imaging;

namespace Omni.Reporting;

/// <summary>
/// A JSON-lines metrics file: one object per training step,
/// <c>{"step": 12, "time": "2026-11-25T07:43:21.000+00:00", "elapsed_s": 37.2, "reward": 0.41, "kl": null}</c>.
/// Keys come in one stable order — <c>step</c>, <c>time</c>, <c>elapsed_s</c>, then the metrics sorted by name (ordinal) — so
/// two runs' logs diff line by line. Non-finite values are written as <c>null</c> so every line stays valid JSON. Each line is flushed as soon as it is
/// written, so a crash loses at most the line being written; <see cref="Read"/> drops such a torn last line.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private static readonly string[] Reserved = ["step", "time", "elapsed_s"];
    private readonly StreamWriter _writer;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly double _elapsedAtStart;

    private MetricsLog(StreamWriter writer, TimeProvider time, double elapsedAtStart)
    {
        _writer = writer;
        _time = time;
        _started = time.GetTimestamp();
        _elapsedAtStart = elapsedAtStart;
    }

    /// <summary>The file being written.</summary>
    public required string Path { get; init; }

    /// <summary>
    /// Opens <paramref name="path"/> for appending (creating it and its directory). On resume, call
    /// <see cref="TruncateAfter"/> first and pass the last kept record's elapsed seconds as <paramref name="elapsedAtStart"/>.
    /// </summary>
    /// <param name="path">The .jsonl file.</param>
    /// <param name="time">The clock for "time" and "elapsed_s"; the system clock when omitted.</param>
    /// <param name="elapsedAtStart">Seconds to add to every "elapsed_s" (time already spent before a resume).</param>
    public static MetricsLog Open(string path, TimeProvider? time = null, double elapsedAtStart = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var stream = new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read);
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        return new MetricsLog(writer, time ?? TimeProvider.System, elapsedAtStart) { Path = full };
    }

    /// <summary>Appends the line for <paramref name="step"/> and flushes it.</summary>
    /// <exception cref="ArgumentException">A metric is named "step", "time" or "elapsed_s", or has an empty name.</exception>
    public void Append(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var clash = metrics.Keys.FirstOrDefault(k => string.IsNullOrWhiteSpace(k) || Reserved.Contains(k));
        if (clash is not null)
            throw new ArgumentException($"Metric name '{clash}' is empty or reserved (step, time and elapsed_s are written by the log).", nameof(metrics));
        var elapsed = _elapsedAtStart + _time.GetElapsedTime(_started).TotalSeconds;
        _writer.WriteLine(Line(step, _time.GetUtcNow(), elapsed, metrics));
        _writer.Flush();
    }

    /// <summary>The JSON line for one step (metrics sorted by name, whatever order they come in). Pure.</summary>
    public static string Line(long step, DateTimeOffset time, double elapsedSeconds, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps '+' in the time readable instead of \u002B; the line is a file, not HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("step", step);
            json.WriteString("time", time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture));
            WriteNumber(json, "elapsed_s", Math.Round(elapsedSeconds, 3));
            foreach (var (name, value) in metrics.OrderBy(p => p.Key, StringComparer.Ordinal)) WriteNumber(json, name, value);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads every record; a torn (unparsable) last line left by a crash is skipped.</summary>
    /// <exception cref="InvalidDataException">A line other than the last is not a metrics record (its number is given).</exception>
    public static IReadOnlyList<MetricRecord> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var records = new List<MetricRecord>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var record = Parse(lines[i], out var problem);
            if (record is not null) records.Add(record);
            else if (i < lines.Length - 1)
                throw new InvalidDataException($"{path}, line {i + 1}: {problem}.");
        }
        return records;
    }

    /// <summary>
    /// Keeps only the records with step ≤ <paramref name="step"/> (used on resume, so re-run steps are not logged twice),
    /// rewriting the file atomically. A missing file is left missing.
    /// </summary>
    /// <returns>The last kept record, or null when none is kept.</returns>
    public static MetricRecord? TruncateAfter(string path, long step)
    {
        if (!File.Exists(path)) return null;
        var kept = File.ReadAllLines(path)
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => (line, record: Parse(line, out _)))
            .Where(p => p.record is not null && p.record.Step <= step)
            .ToList();
        AtomicFile.WriteAllLines(path, kept.Select(p => p.line));
        return kept.Count == 0 ? null : kept[^1].record;
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose() => _writer.Dispose();

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }

    private static MetricRecord? Parse(string line, out string problem)
    {
        problem = "";
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("step", out var step) || !step.TryGetInt64(out var n))
            {
                problem = "not a JSON object with an integer \"step\"";
                return null;
            }
            var time = root.TryGetProperty("time", out var t) && t.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed) ? parsed : default;
            var elapsed = root.TryGetProperty("elapsed_s", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.NaN;
            var values = ImmutableDictionary.CreateBuilder<string, double>();
            foreach (var property in root.EnumerateObject().Where(p => !Reserved.Contains(p.Name)))
                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.Number => property.Value.GetDouble(),
                    // Other writers (e.g. Python's json) spell non-finite values as strings.
                    JsonValueKind.String when double.TryParse(property.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
                    _ => double.NaN,
                };
            return new MetricRecord(n, time, elapsed, values.ToImmutable());
        }
        catch (JsonException ex)
        {
            problem = $"not valid JSON ({ex.Message})";
            return null;
        }
    }
}
