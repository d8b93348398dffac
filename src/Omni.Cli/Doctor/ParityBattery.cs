using System.Collections.Immutable;
using System.Text.Json;
using Omni.Algebra.Adapters;
using Omni.Algebra.Devices;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Effects.Safetensors;
using Omni.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Cli.Doctor;

/// <summary>
/// Runs the vendored reference cases on a device with that device's tolerances (<see cref="ParityTolerances"/>):
/// schedules (and forward noising) on the device, every SDE sampler with its log-prob and the gradient of the log-prob,
/// one tiny SD3.5 transformer forward, and a bfloat16 matmul. Noise is drawn on the CPU and moved, as everywhere in Omni.
/// </summary>
public static class ParityBattery
{
    /// <summary>Every check, in order.</summary>
    public static IReadOnlyList<DoctorCheck> Run(DoctorFixtures fixtures, Device device)
    {
        var tolerances = ParityTolerances.For(device.type);
        var checks = new List<DoctorCheck>();
        checks.Add(Guard("bf16", "matmul 64×64", () => Bf16Matmul(device)));
        foreach (var c in fixtures.Cases("schedules"))
            checks.Add(Guard("schedules", c.GetProperty("id").GetString()!, () => Schedule(fixtures, c, device, tolerances)));
        foreach (var c in fixtures.Cases("sde_steps"))
            checks.Add(Guard("sde", $"{c.GetProperty("id").GetString()} ({c.GetProperty("sde_type").GetString()}, {c.GetProperty("mode").GetString()})",
                             () => SdeCase(fixtures, c, device, tolerances)));
        using (var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixtures.Folder, "models", "models.json"))))
            foreach (var m in document.RootElement.GetProperty("models").EnumerateArray())
            {
                var entry = m.Clone();
                checks.Add(Guard("model", entry.GetProperty("name").GetString()!, () => Model(fixtures, entry, device, tolerances)));
            }
        return checks;
    }

    // A check that throws has failed, with the exception's message; it never stops the battery.
    private static DoctorCheck Guard(string group, string name, Func<(double Share, string Detail)> check)
    {
        try
        {
            using var scope = NewDisposeScope();
            var (share, detail) = check();
            return new DoctorCheck(group, name, share <= 1.0, share, detail);
        }
        catch (Exception e)
        {
            return new DoctorCheck(group, name, false, double.PositiveInfinity, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static (double, string) Worst(params (string What, double Share)[] comparisons)
    {
        var worst = comparisons.MaxBy(c => c.Share);
        return (worst.Share, $"worst: {worst.What} at {worst.Share:P1} of its tolerance");
    }

    // bf16 has an 8-bit mantissa: a 64-long dot product of bf16-rounded inputs stays within 2 % of the float32 result's scale.
    private static (double, string) Bf16Matmul(Device device)
    {
        var source = NoiseSource.Seeded(7);
        var a = source.Draw([64, 64], device: device);
        var b = source.Draw([64, 64], device: device);
        var exact = a.matmul(b);
        var half = a.to(ScalarType.BFloat16).matmul(b.to(ScalarType.BFloat16)).to(ScalarType.Float32);
        var share = (half - exact).abs().max().item<float>() / (0.02 * exact.abs().max().item<float>());
        return (share, $"bf16 vs float32 at {share:P1} of 2% of the output scale");
    }

    private static SchedulerState State(JsonElement c)
    {
        var config = SchedulerConfigJson.Bind(c.GetProperty("scheduler_config")).OrThrow();
        var s = c.GetProperty("set_timesteps");
        int? steps = s.TryGetProperty("num_inference_steps", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : null;
        double? mu = s.TryGetProperty("mu", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetDouble() : null;
        return FlowMatchSchedule.SetTimesteps(config, new TimestepRequest(steps, Doubles(s, "sigmas"), Doubles(s, "timesteps"), mu)).OrThrow();
    }

    private static ImmutableArray<double>? Doubles(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? [.. v.EnumerateArray().Select(x => x.GetDouble())] : null;

    private static (double, string) Schedule(DoctorFixtures fixtures, JsonElement c, Device device, ParityTolerances tolerances)
    {
        var state = State(c);
        Tensor T(string section, string name) => fixtures.Tensor("schedules", c, section, name, device);
        if (c.TryGetProperty("op", out var op) && op.GetString() == "scale_noise")
        {
            var noised = ForwardNoising.ScaleNoise(state, T("inputs", "sample"), T("inputs", "timestep"), T("inputs", "noise")).OrThrow();
            return Worst(("noised", Closeness.Relative(noised, T("outputs", "noised"), tolerances.Elementwise)));
        }
        return Worst(("sigmas", Closeness.Relative(state.SigmasTensor(device), T("outputs", "sigmas"), tolerances.Elementwise)),
                     ("timesteps", Closeness.Relative(state.TimestepsTensor(device), T("outputs", "timesteps"), tolerances.Elementwise)));
    }

    private static (double, string) SdeCase(DoctorFixtures fixtures, JsonElement c, Device device, ParityTolerances tolerances)
    {
        Tensor T(string section, string name) => fixtures.Tensor("sde_steps", c, section, name, device);
        var state = State(c);
        var type = SdeTypes.Parse(c.GetProperty("sde_type").GetString()!).OrThrow();
        var sample = T("inputs", "sample");
        var modelOutput = T("inputs", "model_output").requires_grad_(true);
        var (at, next) = c.GetProperty("mode").GetString() switch
        {
            "given" => (StepAt.Index(c.GetProperty("step_index").GetInt32()), NextSample.PrevSample(T("inputs", "prev_sample"))),
            "seeded_list" => (StepAt.Index(c.GetProperty("step_index").GetInt32()), NextSample.FromNoise(
                NoiseSource.PerSample(c.GetProperty("noise_seeds").EnumerateArray().Select(s => s.GetInt64())).Draw(sample.shape, device: device))),
            "per_sample_t" => (StepAt.Timesteps(T("inputs", "timestep")), NextSample.PrevSample(T("inputs", "prev_sample"))),
            var mode => throw new NotSupportedException($"mode {mode}"),
        };
        using var result = SdeStep.Sample(state, type, at, sample, modelOutput, c.GetProperty("noise_level").GetDouble(), next,
                                          c.GetProperty("include_logprob_normalizer").GetBoolean()).OrThrow();
        var comparisons = new List<(string, double)>
        {
            ("prev_sample", Closeness.Relative(result.PrevSample, T("outputs", "prev_sample"), tolerances.Elementwise)),
            ("prev_sample_mean", Closeness.Relative(result.PrevSampleMean, T("outputs", "prev_sample_mean"), tolerances.Elementwise)),
            ("std_dev_t", Closeness.Relative(result.StdDevT, T("outputs", "std_dev_t"), tolerances.Elementwise)),
            ("sqrt_dt", Closeness.Relative(result.SqrtDt, T("outputs", "sqrt_dt"), tolerances.Elementwise)),
            ("log_prob", Closeness.Relative(result.LogProb, T("outputs", "log_prob"), tolerances.Reduced)),
        };
        if (c.GetProperty("outputs").TryGetProperty("grad_log_prob_sum_wrt_model_output", out _))
        {
            result.LogProb.sum().backward();
            comparisons.Add(("gradient", Closeness.Relative(modelOutput.grad!, T("outputs", "grad_log_prob_sum_wrt_model_output"), tolerances.Reduced)));
        }
        return Worst([.. comparisons]);
    }

    private static (double, string) Model(DoctorFixtures fixtures, JsonElement entry, Device device, ParityTolerances tolerances)
    {
        var folder = Path.Combine(fixtures.Folder, entry.GetProperty("folder").GetString()!);
        var className = entry.GetProperty("class").GetString()!;
        if (!TransformerLoader.Builders.TryGetValue(className, out var build)) throw new NotSupportedException($"no builder for {className}");
        using var module = build(File.ReadAllText(Path.Combine(folder, "config.json")));
        var report = WeightLoader.Load(module, Path.Combine(folder, "diffusion_pytorch_model.safetensors"), strict: true);
        if (report.Missing.Count > 0 || report.ShapeMismatches.Count > 0) throw new InvalidDataException(report.ToString());
        module.to(device);
        module.eval();
        using var io = SafetensorsFile.Open(Path.Combine(folder, "io.safetensors"));
        var inputs = ModelInputs.Empty;
        foreach (var key in io.Entries.Keys.Where(k => k.StartsWith("input/", StringComparison.Ordinal)))
            inputs = inputs.With(key["input/".Length..], io.Read(key).to(device));
        using var noGrad = no_grad();
        var output = ((IDenoiser)module).Forward(inputs);
        using var expected = io.Read("output/sample");
        return Worst(("sample", Closeness.Absolute(output, expected, tolerances.ModelAbsolute)));
    }
}
