using System.Diagnostics;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Bench;

/// <summary>
/// SDE step throughput on the CPU, as milliseconds per step beside a memory-bandwidth baseline measured in the
/// same run: reading the step's three input tensors and writing its two full-size outputs (x + v, ε + x).
/// The target is every step within 4x of that baseline.
/// </summary>
internal static class SdeStepBench
{
    public static void Run()
    {
        // Without this, glibc hands every multi-megabyte tensor a fresh mmap and the loop measures page faults.
        var retained = Omni.Effects.Devices.CpuMemory.RetainFreedMemory() ? "retained" : "default";
        var state = FlowMatchSchedule.SetTimesteps(new SchedulerConfig { Shift = 3.0 }, 10).OrThrow();
        Console.WriteLine($"torch threads: {get_num_threads()}, .NET {Environment.Version}, {Environment.ProcessorCount} logical cores, glibc freed memory: {retained}");
        Console.WriteLine($"{"shape",-14} {"path",-10} {"op",-10} {"ms/step",9} {"x baseline",11}");

        foreach (var shape in new long[][] { [8, 1024, 64], [32, 1024, 64] })
        {
            var source = NoiseSource.Seeded(0);
            using var x = source.Draw(shape);
            using var v = source.Draw(shape);
            using var eps = source.Draw(shape);
            using var timesteps = full(shape[0], state.Timesteps[3]);
            var iterations = shape[0] >= 32 ? 60 : 200;

            var baseline = Measure(iterations, () =>
            {
                using var scope = NewDisposeScope();
                _ = x.add(v);
                _ = eps.add(x);
            });
            var label = $"({string.Join(",", shape)})";
            Console.WriteLine($"{label,-14} {"-",-10} {"baseline",-10} {baseline,9:F3} {1.0,11:F2}");

            foreach (var type in new[] { SdeType.Sde, SdeType.Cps, SdeType.DanceSde })
            {
                var rollout = Measure(iterations, () =>
                {
                    using var scope = NewDisposeScope();
                    _ = SdeStep.Sample(state, type, StepAt.Index(3), x, v, 0.7, NextSample.FromNoise(eps)).OrThrow();
                });
                var training = Measure(iterations, () =>
                {
                    using var scope = NewDisposeScope();
                    _ = SdeStep.Sample(state, type, StepAt.Timesteps(timesteps), x, v, 0.7, NextSample.PrevSample(eps)).OrThrow();
                });
                Console.WriteLine($"{label,-14} {"rollout",-10} {type.Name(),-10} {rollout,9:F3} {rollout / baseline,11:F2}");
                Console.WriteLine($"{label,-14} {"training",-10} {type.Name(),-10} {training,9:F3} {training / baseline,11:F2}");
            }
        }
    }

    // Median over five batches of the per-call time, after a warm-up batch.
    internal static double Measure(int iterations, Action step)
    {
        for (var i = 0; i < iterations / 4; i++) step();
        var samples = new List<double>();
        for (var batch = 0; batch < 5; batch++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++) step();
            samples.Add(clock.Elapsed.TotalMilliseconds / iterations);
        }
        samples.Sort();
        return samples[2];
    }
}
