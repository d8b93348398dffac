using System.Diagnostics;
using System.Text.Json;
using Omni.Effects.Distributed;
using Omni.Effects.Distributed.Sharding;
using Omni.Effects.Random;
using Omni.Models.Sd3;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Bench;

/// <summary>
/// The distributed part of the GPU device check (issue 13): at world size 1 on the given device — NCCL on CUDA, the
/// one-process backend on the CPU — every collective through raw device pointers on stream 0, float32 and bfloat16, a
/// 64 MiB all-reduce timed; then an FSDP-sharded SD3 transformer against the plain one on the device (gathered parameters
/// exact, outputs and gradients to float32 rounding, bf16 compute keeping float32 shard gradients). Prints each check and
/// writes them as JSON; exit code 1 when any fails.
/// <code>Omni.Bench distributed-check [--device cuda|cpu] [--json path]</code>
/// </summary>
internal static class DistributedDeviceCheck
{
    private sealed record Check(string Name, bool Passed, string Detail, double Seconds);

    public static int Run(string[] args)
    {
        var deviceName = Value(args, "--device") ?? (cuda.is_available() ? "cuda" : "cpu");
        var json = Value(args, "--json");
        var device = deviceName == "cuda" ? new Device(DeviceType.CUDA, 0) : CPU;
        if (device.type == DeviceType.CUDA && !cuda.is_available())
        {
            Console.Error.WriteLine("distributed-check: --device cuda, but CUDA is not available in this process.");
            return 2;
        }
        var checks = new List<Check>();
        using var collectives = Effects.Distributed.Collectives.Start(RankEnvironment.SingleProcess,
            device.type == DeviceType.CUDA ? CollectivesBackend.Nccl : CollectivesBackend.Auto, device);
        Console.WriteLine($"distributed check on {device} with {collectives.Backend}");
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            checks.Add(Timed($"collectives {dtype}", () => EveryCollective(collectives, device, dtype)));
        checks.Add(Timed("all_reduce 64 MiB float32", () => LargeAllReduce(collectives, device)));
        checks.Add(Timed("FSDP unit float32", () => FsdpUnit(collectives, device, ShardingPrecision.Full)));
        checks.Add(Timed("FSDP unit bf16 compute", () => FsdpUnit(collectives, device, ShardingPrecision.Bf16Compute)));
        foreach (var c in checks) Console.WriteLine($"{(c.Passed ? "ok  " : "FAIL")} {c.Name,-28} {c.Seconds,8:F3} s  {c.Detail}");
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(new { device = device.ToString(), backend = collectives.Backend, checks },
                new JsonSerializerOptions { WriteIndented = true }));
        return checks.All(c => c.Passed) ? 0 : 1;
    }

    private static string? Value(string[] args, string name) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    private static Check Timed(string name, Func<(bool Passed, string Detail)> run)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var (passed, detail) = run();
            return new Check(name, passed, detail, clock.Elapsed.TotalSeconds);
        }
        catch (Exception e)
        {
            return new Check(name, false, $"{e.GetType().Name}: {e.Message}", clock.Elapsed.TotalSeconds);
        }
    }

    // At world size 1 every collective is the identity: what is checked is the binding (pointers, counts, dtype codes,
    // stream order) — a wrong one shows as garbage or an NCCL error.
    private static (bool, string) EveryCollective(ICollectives c, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var x = (arange(4096, ScalarType.Float32, device) % 97 - 48).to(dtype);
        var problems = new List<string>();
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average, ReduceOp.Max, ReduceOp.Min })
        {
            var t = x.clone();
            c.AllReduce(t, op);
            if (!t.Equals(x)) problems.Add($"all_reduce {op}");
        }
        var gathered = zeros(x.numel(), dtype, device);
        c.AllGather(x, gathered);
        if (!gathered.Equals(x)) problems.Add("all_gather");
        var scattered = zeros(x.numel(), dtype, device);
        c.ReduceScatter(x.clone(), scattered, ReduceOp.Average);
        if (!scattered.Equals(x)) problems.Add("reduce_scatter");
        var broadcast = x.clone();
        c.Broadcast(broadcast);
        if (!broadcast.Equals(x)) problems.Add("broadcast");
        c.Barrier();
        return (problems.Count == 0, problems.Count == 0 ? "identity at world size 1, as it must be" : "wrong: " + string.Join(", ", problems));
    }

    private static (bool, string) LargeAllReduce(ICollectives c, Device device)
    {
        using var scope = NewDisposeScope();
        var t = ones(16L << 20, ScalarType.Float32, device);
        c.AllReduce(t);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++) c.AllReduce(t);
        var seconds = clock.Elapsed.TotalSeconds / 5;
        var ok = t.eq(1).all().item<bool>();
        return (ok, $"{seconds * 1e3:F2} ms per call, {64 / 1024.0 / seconds:F1} GiB/s (world size 1: a local copy at most)");
    }

    // The same seeded small SD3 transformer plain and FSDP-sharded on the device: the sharded one must gather the
    // original values and compute the plain one's loss and gradients.
    private static (bool, string) FsdpUnit(ICollectives c, Device device, ShardingPrecision precision)
    {
        using var scope = NewDisposeScope();
        using var plain = Model(device);
        using var sharded = Model(device);
        var originals = sharded.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var fsdp = FullyShardedModule.Shard(sharded, c, precision);
        var source = NoiseSource.Seeded(21);
        var (x, text, pooled) = (source.Draw([2, 4, 8, 8]).to(device), source.Draw([2, 5, 12]).to(device), source.Draw([2, 10]).to(device));
        var timestep = tensor(new[] { 700f, 300f }).to(device);
        var expected = plain.forward(x, text, pooled, timestep).pow(2).mean();
        expected.backward();
        fsdp.Gather();
        var compute = precision.ParamDtype ?? ScalarType.Float32;
        var actual = sharded.forward(x.to(compute), text.to(compute), pooled.to(compute), timestep).to(ScalarType.Float32).pow(2).mean();
        actual.backward();
        fsdp.Release();
        var problems = new List<string>();
        var grads = sharded.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        foreach (var (name, p) in plain.named_parameters())
        {
            var g = grads[name];
            if (g is null || g.dtype != ScalarType.Float32 || !g.isfinite().all().item<bool>()) { problems.Add($"{name}: no finite float32 gradient"); continue; }
            if (precision.ParamDtype is null && !g.allclose(p.grad!, rtol: 1e-4, atol: 1e-6)) problems.Add($"{name}: gradient differs by {(g - p.grad!).abs().max().item<float>()}");
        }
        fsdp.Unshard();
        foreach (var (name, p) in sharded.named_parameters())
            if (!p.Equals(originals[name])) problems.Add($"{name}: unsharded value differs from the original");
        var lossGap = Math.Abs(actual.item<float>() - expected.item<float>());
        var tolerance = precision.ParamDtype is null ? 1e-5 * Math.Abs(expected.item<float>()) : 2e-2 * Math.Abs(expected.item<float>());
        if (lossGap > tolerance) problems.Add($"loss {actual.item<float>()} vs {expected.item<float>()}");
        return (problems.Count == 0, problems.Count == 0
            ? $"{fsdp.Units.Count} units, loss gap {lossGap:E2}, {plain.parameters().Count()} gradients checked"
            : string.Join("; ", problems.Take(5)));
    }

    private static Sd3Transformer2DModel Model(Device device)
    {
        var model = new Sd3Transformer2DModel(new Sd3Config
        {
            NumLayers = 3, NumAttentionHeads = 2, AttentionHeadDim = 8, CaptionProjectionDim = 16, JointAttentionDim = 12,
            PooledProjectionDim = 10, InChannels = 4, OutChannels = 4, PatchSize = 1, SampleSize = 8, PosEmbedMaxSize = 16,
            DualAttentionLayers = [0], QkNorm = "rms_norm",
        });
        var source = NoiseSource.Seeded(11);
        using (no_grad()) foreach (var p in model.parameters()) p.copy_(source.Draw(p.shape) * 0.2);
        model.to(device);
        model.train();
        return model;
    }
}
