using Omni.Effects.Distributed;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// The MPI backend over two MPICH ranks on this machine: every collective against a one-process computation, and the
/// fault paths — an exception, a stalled rank and a killed rank each end the job with a bounded wait and a message
/// naming the rank. Every job here has its own hard time limit.
/// </summary>
[Collection(MultiProcessCollection.Name)]
public sealed class CollectivesTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    private readonly string _work = Directory.CreateTempSubdirectory("omni-mpi-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    [Fact]
    public void Every_collective_over_two_ranks_equals_the_one_process_computation()
    {
        using var job = MpiJob.Workers(2, "collectives", _work);
        Assert.True(job.Wait(Limit) == 0, job.Transcript);
        for (var rank = 0; rank < 2; rank++)
        {
            var info = File.ReadAllLines(Path.Combine(_work, $"rank-{rank}.txt"));
            Assert.StartsWith("MPICH", info[0]);
            Assert.Equal(rank.ToString(), info[1]);
            Assert.Equal("2", info[2]);
            using var file = SafetensorsFile.Open(Path.Combine(_work, $"rank-{rank}.safetensors"));
            var expected = CollectiveCases.Expected(rank, 2);
            Assert.Equal(expected.Keys.Order(), file.Entries.Keys.Order());
            foreach (var (key, want) in expected)
            {
                using var got = file.Read(key);
                Assert.True(got.dtype == want.dtype, $"{key}: dtype {got.dtype}, expected {want.dtype}");
                Assert.True(got.to(ScalarType.Float64).Equals(want.to(ScalarType.Float64)),
                    $"rank {rank} {key}: got {got.to(ScalarType.Float64).ToString(TorchSharp.TensorStringStyle.Numpy)}, expected {want.to(ScalarType.Float64).ToString(TorchSharp.TensorStringStyle.Numpy)}");
            }
        }
    }

    [Fact]
    public void Ranks_agree_on_failures_flags_values_and_strings()
    {
        using var job = MpiJob.Workers(2, "collectives", _work);
        Assert.True(job.Wait(Limit) == 0, job.Transcript);
        foreach (var rank in new[] { 0, 1 })
            Assert.Equal(
            [
                "on rank 1: rank one's problem", "none", "True", "False", "0.5,0,1.5,-1", "r0|xxxr1", "2,10",
            ], File.ReadAllLines(Path.Combine(_work, $"host-{rank}.txt")));
    }

    [Fact]
    public void An_exception_on_one_rank_ends_the_job_with_a_message_naming_it()
    {
        using var job = MpiJob.Workers(2, "throw-on-rank-1", _work);
        var code = job.Wait(Limit);
        Assert.True(code != 0, job.Transcript);
        Assert.True(job.Error.Contains("rank 1: InvalidOperationException: deliberate failure for the test"), job.Transcript);
    }

    [Fact]
    public void A_stalled_rank_ends_the_job_when_the_collective_time_limit_expires()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var job = MpiJob.Workers(2, "stall-rank-1", _work, new Dictionary<string, string> { ["OMNI_COLLECTIVE_TIMEOUT"] = "3" });
        var code = job.Wait(Limit);
        Assert.True(code != 0, job.Transcript);
        Assert.True(job.Error.Contains("rank 0: all_reduce #") && job.Error.Contains("did not complete within 3 s"), job.Transcript);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(100), $"took {clock.Elapsed}; rank 1 sleeps 120 s, so the limit did not act");
    }

    [Fact]
    public void A_killed_rank_brings_the_other_down_within_seconds()
    {
        using var job = MpiJob.Workers(2, "die-in-loop", _work);
        var pidFile = Path.Combine(_work, "rank-1.pid");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!File.Exists(pidFile) && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.True(File.Exists(pidFile), job.Transcript);
        Thread.Sleep(500);
        var other = int.Parse(File.ReadAllText(Path.Combine(_work, "rank-0.pid")));
        System.Diagnostics.Process.GetProcessById(int.Parse(File.ReadAllText(pidFile))).Kill();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var code = job.Wait(TimeSpan.FromSeconds(60));
        Assert.True(code != 0, job.Transcript);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
        Assert.Throws<ArgumentException>(() => System.Diagnostics.Process.GetProcessById(other));
    }

    [Fact]
    public void The_single_process_backend_is_the_identity_and_checks_arguments_like_the_others()
    {
        using var c = new SingleProcessCollectives();
        using var t = CollectiveCases.Input(0, ScalarType.Float32);
        using var copy = t.clone();
        c.AllReduce(t, ReduceOp.Average);
        Assert.True(t.Equals(copy));
        using var gathered = zeros(6);
        c.AllGather(t, gathered);
        Assert.True(gathered.Equals(copy));
        using var wrongSize = zeros(7);
        var e = Assert.Throws<ArgumentException>(() => c.AllGather(t, wrongSize));
        Assert.Contains("world size 1 × 6", e.Message);
        using var strided = zeros(4, 4).t();
        Assert.Contains("contiguous", Assert.Throws<ArgumentException>(() => c.AllReduce(strided)).Message);
        using var ints = zeros(3, ScalarType.Int64);
        Assert.Contains("Average needs a floating-point", Assert.Throws<ArgumentException>(() => c.AllReduce(ints, ReduceOp.Average)).Message);
    }

    [Fact]
    public void Nccl_refuses_cpu_tensors_before_touching_any_library()
    {
        var e = Assert.Throws<DistributedException>(() => Collectives.Start(RankEnvironment.SingleProcess, CollectivesBackend.Nccl, CPU));
        Assert.Contains("NCCL works on CUDA tensors", e.Message);
        Assert.StartsWith("rank 0:", e.Message);
    }
}

/// <summary>Multi-process tests run one at a time: each starts several ranks on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MultiProcessCollection
{
    public const string Name = "multi-process";
}
