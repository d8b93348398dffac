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
[ChecksFixture("schedules")]
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

    /// <summary>
    /// Sigmas and timesteps within float32 rounding, and the training table whenever the case declares one. The training
    /// path finds each stored timestep by exact float equality, so a rollout produced by the Python reference and
    /// recomputed here (or the other way round) needs the very same float32 timesteps: schedules that involve only
    /// arithmetic are held to bit equality; the Karras, exponential and Beta spacings go through libm/SciPy
    /// transcendentals and keep the float32-rounding tolerance.
    /// </summary>
    [Theory, MemberData(nameof(ScheduleCases))]
    public void Set_timesteps_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var state = ManifestReading.State(c);
        var (sigmas, timesteps) = (c.Output("sigmas"), c.Output("timesteps"));
        TensorAssert.Close(state.SigmasTensor(), sigmas, TensorAssert.Elementwise, id + " sigmas");
        TensorAssert.Close(state.TimestepsTensor(), timesteps, TensorAssert.Elementwise, id + " timesteps");
        if (!Respaced(c))
        {
            TensorAssert.Identical(state.SigmasTensor(), sigmas, id + " sigmas");
            TensorAssert.Identical(state.TimestepsTensor(), timesteps, id + " timesteps");
        }
        if (c.Has("train_table"))
        {
            var table = TrainTable.For(state.Config);
            TensorAssert.Close(tensor(table.Sigmas.ToArray()), c.Tensor("train_table", "sigmas"), TensorAssert.Elementwise, id + " train sigmas");
            TensorAssert.Close(tensor(table.Timesteps.ToArray()), c.Tensor("train_table", "timesteps"), TensorAssert.Elementwise, id + " train timesteps");
        }
    });

    private static bool Respaced(GoldenCase c) =>
        new[] { "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas" }.Any(key =>
            c["scheduler_config"].TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True);

    [Theory, MemberData(nameof(ErrorCases))]
    public void Invalid_settings_fail_like_the_reference(string id) => Suite.Check(id, c =>
    {
        var config = SchedulerConfigJson.Bind(c["scheduler_config"]);
        var result = c["set_timesteps"].ValueKind == JsonValueKind.Null
            ? config.Map(_ => LanguageExt.Unit.Default)
            : config.Bind(cfg => FlowMatchSchedule.SetTimesteps(cfg, ManifestReading.Request(c))).Map(_ => LanguageExt.Unit.Default);
        var errors = result.Match(Succ: _ => [], Fail: e => e.ToList());
        var expectedType = c.String("error");
        var expectedMessage = c.String("message");
        Assert.Contains(errors, e => e.PythonEquivalent == expectedType && e.Message.Contains(expectedMessage));
    });

    [Theory, MemberData(nameof(ShiftCases))]
    public void Calculate_shift_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        var mu = Shifts.CalculateShift(
            c.Double("image_seq_len"), c.Double("base_seq_len"), c.Double("max_seq_len"), c.Double("base_shift"), c.Double("max_shift"));
        var expected = c.Double("mu");
        Assert.True(Math.Abs(mu - expected) <= 1e-15 * Math.Abs(expected), $"{id}: mu {mu:R}, reference {expected:R}");
    });

    [Theory, MemberData(nameof(IndexCases))]
    public void Index_for_timestep_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        var state = ManifestReading.State(c);
        var timesteps = c["timesteps"].EnumerateArray().Select(t => (float)t.GetDouble()).ToArray();
        var indices = c.Longs("indices");
        Assert.Equal(indices.Length, timesteps.Length);
        for (var i = 0; i < timesteps.Length; i++)
            Assert.Equal(indices[i], TimestepIndex.Of(state, timesteps[i]).IfLeft(e => throw new OmniException([e])));
    });

    [Theory, MemberData(nameof(ScaleNoiseCases))]
    public void Scale_noise_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var state = ManifestReading.State(c);
        var noised = ForwardNoising.ScaleNoise(state, c.Input("sample"), c.Input("timestep"), c.Input("noise")).OrThrow();
        TensorAssert.Close(noised, c.Output("noised"), TensorAssert.Elementwise, id);
    });
}
