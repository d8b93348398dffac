using System.Globalization;

namespace Omni.Reporting;

/// <summary>
/// The text of a progress line, e.g. <c>step 12/200 | 3.1 s/step | ETA 09:48 | reward 0.412 | kl 0.0012</c>.
/// Pure: durations are passed in, no clock is read.
/// </summary>
public static class ProgressFormat
{
    /// <summary>The progress line for <paramref name="step"/> of <paramref name="total"/>.</summary>
    /// <param name="step">Steps done so far.</param>
    /// <param name="total">Steps in the run.</param>
    /// <param name="secondsPerStep">Recent mean step duration; null (or non-finite) before any step was timed.</param>
    /// <param name="metrics">Metrics to show, in order.</param>
    public static string Line(long step, long total, double? secondsPerStep, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        var parts = new List<string> { $"step {step}/{total}" };
        if (secondsPerStep is { } s && double.IsFinite(s) && s >= 0)
        {
            parts.Add(s < 10 ? $"{s.ToString("0.0", CultureInfo.InvariantCulture)} s/step"
                             : $"{s.ToString("0", CultureInfo.InvariantCulture)} s/step");
            parts.Add($"ETA {Duration(TimeSpan.FromSeconds(Math.Max(0, total - step) * s))}");
        }
        else parts.Add("ETA --:--");
        parts.AddRange(metrics.Select(m => $"{m.Key} {Number(m.Value)}"));
        return string.Join(" | ", parts);
    }

    /// <summary><c>mm:ss</c> under an hour, <c>h:mm:ss</c> under a day, <c>Nd hh:mm</c> beyond.</summary>
    public static string Duration(TimeSpan duration)
    {
        var d = TimeSpan.FromSeconds(Math.Round(Math.Max(0, duration.TotalSeconds)));
        if (d.TotalHours < 1) return $"{d.Minutes:00}:{d.Seconds:00}";
        if (d.TotalDays < 1) return $"{(int)d.TotalHours}:{d.Minutes:00}:{d.Seconds:00}";
        return $"{(int)d.TotalDays}d {d.Hours:00}:{d.Minutes:00}";
    }

    /// <summary>Three significant digits in plain notation for magnitudes 1e-4 to 1e4, scientific beyond; NaN as "nan".</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        if (value == 0) return "0";
        var magnitude = Math.Abs(value);
        return magnitude is >= 1e-4 and < 1e4
            ? value.ToString("G3", CultureInfo.InvariantCulture)
            : value.ToString("0.##e+0", CultureInfo.InvariantCulture);
    }
}
