namespace Omni.Reporting;

/// <summary>
/// Writes <see cref="ProgressFormat.Line"/> progress lines as training runs. On an interactive terminal the line is
/// rewritten in place (<c>\r</c>); otherwise (a log file, CI) plain lines are printed for the first and last step and
/// then at most once per <c>plainInterval</c>, so logs stay readable. Step durations are the time between reports,
/// averaged over the recent window.
/// </summary>
public sealed class ConsoleProgress
{
    private readonly TextWriter _writer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _plainInterval;
    private StepDurations _durations;
    private (long Step, long Timestamp)? _previous;
    private long? _lastPrinted;
    private int _lastLength;

    /// <summary>Creates a progress writer.</summary>
    /// <param name="writer">Where lines go.</param>
    /// <param name="total">Steps in the run.</param>
    /// <param name="rewriteLine">Rewrite one line with '\r' (for a terminal) instead of printing lines.</param>
    /// <param name="time">The clock; the system clock when omitted.</param>
    /// <param name="plainInterval">Least time between plain lines; 10 s when omitted.</param>
    /// <param name="window">How many recent steps the speed is averaged over.</param>
    public ConsoleProgress(TextWriter writer, long total, bool rewriteLine, TimeProvider? time = null, TimeSpan? plainInterval = null, int window = 20)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        _writer = writer;
        Total = total;
        RewriteLine = rewriteLine;
        _time = time ?? TimeProvider.System;
        _plainInterval = plainInterval ?? TimeSpan.FromSeconds(10);
        _durations = StepDurations.Empty(window);
    }

    /// <summary>Steps in the run.</summary>
    public long Total { get; }

    /// <summary>Whether the line is rewritten in place.</summary>
    public bool RewriteLine { get; }

    /// <summary>Records that <paramref name="step"/> is done and shows its metrics.</summary>
    public void Report(long step, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        var now = _time.GetTimestamp();
        // The first report (also after a resume) only starts the clock: the time before it is not a step's duration.
        if (_previous is { } p && step > p.Step)
            _durations = _durations.Add(_time.GetElapsedTime(p.Timestamp, now).TotalSeconds / (step - p.Step));
        _previous = (step, now);
        var line = ProgressFormat.Line(step, Total, _durations.Mean, metrics);
        if (RewriteLine)
        {
            // Pad with spaces so a shorter line fully covers the previous one.
            _writer.Write("\r" + line.PadRight(_lastLength));
            _lastLength = line.Length;
            if (step >= Total) _writer.WriteLine();
        }
        else if (_lastPrinted is null || step >= Total || _time.GetElapsedTime(_lastPrinted.Value, now) >= _plainInterval)
        {
            _writer.WriteLine(line);
            _lastPrinted = now;
        }
        _writer.Flush();
    }
}
