using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>Turns manifest JSON into the core's inputs.</summary>
public static class ManifestReading
{
    /// <summary>The case's <c>scheduler_config</c>, bound like a <c>scheduler_config.json</c>.</summary>
    public static SchedulerConfig Config(GoldenCase c) =>
        SchedulerConfigJson.Bind(c["scheduler_config"]).OrThrow();

    /// <summary>The case's <c>set_timesteps</c> arguments.</summary>
    public static TimestepRequest Request(GoldenCase c)
    {
        var s = c["set_timesteps"];
        int? steps = s.TryGetProperty("num_inference_steps", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : null;
        double? mu = s.TryGetProperty("mu", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetDouble() : null;
        return new TimestepRequest(steps, Doubles(s, "sigmas"), Doubles(s, "timesteps"), mu);
    }

    /// <summary>The schedule of the case (config plus <c>set_timesteps</c>).</summary>
    public static SchedulerState State(GoldenCase c) => FlowMatchSchedule.SetTimesteps(Config(c), Request(c)).OrThrow();

    /// <summary>An optional array of numbers.</summary>
    public static System.Collections.Immutable.ImmutableArray<double>? Doubles(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(x => x.GetDouble())]
            : null;
}
