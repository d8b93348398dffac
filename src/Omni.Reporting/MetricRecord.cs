using System.Collections.Immutable;

namespace Omni.Reporting;

/// <summary>One line of a metrics log: a training step, when it was logged, and its metric values.</summary>
/// <param name="Step">The training step.</param>
/// <param name="Time">When the line was written.</param>
/// <param name="ElapsedSeconds">Seconds since the run (or resumed run) started.</param>
/// <param name="Values">Metric values by name; a non-finite value is written as <c>null</c> and read back as NaN.</param>
public sealed record MetricRecord(long Step, DateTimeOffset Time, double ElapsedSeconds, ImmutableDictionary<string, double> Values);
