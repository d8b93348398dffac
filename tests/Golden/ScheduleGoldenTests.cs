using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>schedules</c> suite: <c>set_timesteps</c> results and training tables, the reference's errors,
/// <c>calculate_shift</c>, <c>index_for_timestep</c> and <c>scale_noise</c>.
/// </summary>
public sealed class ScheduleGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("schedules");

    private static string KindOf(JsonElement c) =>
        c.TryGetProperty("op", out var op) ? op.GetString()!
        : c.TryGetProperty("error", out _) ? "error"
        : c.TryGetProperty("indices", out _) ? "index_for_timestep"
        : c.TryGetProperty("outputs", out var o) && o.TryGetProperty("sigmas", out _) ? "set_timesteps"
        : "unknown";

    public static TheoryData<string> ScheduleCases => Suite.Ids(c => KindOf(c) == "set_timesteps");
    public static TheoryData<string> ErrorCases => Suite.Ids(c => KindOf(c) == "error");
    public static TheoryData<string> ShiftCases => Suite.Ids(c => KindOf(c) == "calculate_shift");
    public static TheoryData<string> IndexCases => Suite.Ids(c => KindOf(c) == "index_for_timestep");
    public static TheoryData<string> ScaleNoiseCases => Suite.Ids(c => KindOf(c) == "scale_noise");

    [Fact]
    public void Every_case_is_covered_by_a_test()
        => Suite.AssertEveryCaseIsCovered(KindOf, "set_timesteps", "error", "calculate_shift", "index_for_timestep", "scale_noise");

    [Theory, MemberData(nameof(ScheduleCases))]
    public void Set_timesteps_matches_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var state = ManifestReading.State(c);
        TensorAssert.Close(state.SigmasTensor(), Suite.Tensor(c, "outputs", "sigmas"), TensorAssert.Elementwise, id + " sigmas");
        TensorAssert.Close(state.TimestepsTensor(), Suite.Tensor(c, "outputs", "timesteps"), TensorAssert.Elementwise, id + " timesteps");
        if (c.TryGetProperty("train_table", out _))
        {
            var table = TrainTable.For(state.Config);
            TensorAssert.Close(tensor(table.Sigmas.ToArray()), Suite.Tensor(c, "train_table", "sigmas"), TensorAssert.Elementwise, id + " train sigmas");
            TensorAssert.Close(tensor(table.Timesteps.ToArray()), Suite.Tensor(c, "train_table", "timesteps"), TensorAssert.Elementwise, id + " train timesteps");
        }
    }

    public static TheoryData<string> PlainScheduleCases => Suite.Ids(c => KindOf(c) == "set_timesteps" && !Respaced(c));

    private static bool Respaced(JsonElement c) =>
        new[] { "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas" }.Any(key =>
            c.GetProperty("scheduler_config").TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True);

    /// <summary>
    /// The training path finds each stored timestep by exact float equality, so a rollout produced by the
    /// Python reference and recomputed here (or the other way round) needs the very same float32 timesteps.
    /// Schedules that involve only arithmetic are therefore held to bit equality; the Karras, exponential and
    /// Beta spacings go through libm/SciPy transcendentals and keep the float32-rounding tolerance above.
    /// </summary>
    [Theory, MemberData(nameof(PlainScheduleCases))]
    public void Timesteps_are_bit_identical_to_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var state = ManifestReading.State(c);
        TensorAssert.Identical(state.SigmasTensor(), Suite.Tensor(c, "outputs", "sigmas"), id + " sigmas");
        TensorAssert.Identical(state.TimestepsTensor(), Suite.Tensor(c, "outputs", "timesteps"), id + " timesteps");
    }

    [Theory, MemberData(nameof(ErrorCases))]
    public void Invalid_settings_fail_like_the_reference(string id)
    {
        var c = Suite.Case(id);
        var config = SchedulerConfigJson.Bind(c.GetProperty("scheduler_config"));
        var result = c.GetProperty("set_timesteps").ValueKind == JsonValueKind.Null
            ? config.Map(_ => LanguageExt.Unit.Default)
            : config.Bind(cfg => FlowMatchSchedule.SetTimesteps(cfg, ManifestReading.Request(c))).Map(_ => LanguageExt.Unit.Default);
        var errors = result.Match(Succ: _ => [], Fail: e => e.ToList());
        var expectedType = c.GetProperty("error").GetString();
        var expectedMessage = c.GetProperty("message").GetString()!;
        Assert.Contains(errors, e => e.PythonEquivalent == expectedType && e.Message.Contains(expectedMessage));
    }

    [Theory, MemberData(nameof(ShiftCases))]
    public void Calculate_shift_matches_the_reference(string id)
    {
        var c = Suite.Case(id);
        var mu = Shifts.CalculateShift(
            c.GetProperty("image_seq_len").GetDouble(), c.GetProperty("base_seq_len").GetDouble(),
            c.GetProperty("max_seq_len").GetDouble(), c.GetProperty("base_shift").GetDouble(), c.GetProperty("max_shift").GetDouble());
        var expected = c.GetProperty("mu").GetDouble();
        Assert.True(Math.Abs(mu - expected) <= 1e-15 * Math.Abs(expected), $"{id}: mu {mu:R}, reference {expected:R}");
    }

    [Theory, MemberData(nameof(IndexCases))]
    public void Index_for_timestep_matches_the_reference(string id)
    {
        var c = Suite.Case(id);
        var state = ManifestReading.State(c);
        var timesteps = c.GetProperty("timesteps").EnumerateArray().Select(t => (float)t.GetDouble()).ToArray();
        var indices = ManifestReading.Longs(c, "indices");
        for (var i = 0; i < timesteps.Length; i++)
            Assert.Equal(indices[i], TimestepIndex.Of(state, timesteps[i]).IfLeft(e => throw new OmniException([e])));
    }

    [Theory, MemberData(nameof(ScaleNoiseCases))]
    public void Scale_noise_matches_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var state = ManifestReading.State(c);
        var noised = ForwardNoising.ScaleNoise(state, Suite.Tensor(c, "inputs", "sample"),
            Suite.Tensor(c, "inputs", "timestep"), Suite.Tensor(c, "inputs", "noise")).OrThrow();
        TensorAssert.Close(noised, Suite.Tensor(c, "outputs", "noised"), TensorAssert.Elementwise, id);
    }
}
