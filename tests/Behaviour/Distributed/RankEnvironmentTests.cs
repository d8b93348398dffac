using Omni.Algebra.Errors;
using Omni.Effects.Distributed;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>Rank, world size and local rank from each launcher's variables; inconsistent values are errors that name them.</summary>
public sealed class RankEnvironmentTests
{
    private static RankEnvironment Parse(params (string Key, string Value)[] variables) =>
        RankEnvironment.FromVariables(variables.ToDictionary(v => v.Key, v => (string?)v.Value)).OrThrow();

    private static string Error(params (string Key, string Value)[] variables) =>
        RankEnvironment.FromVariables(variables.ToDictionary(v => v.Key, v => (string?)v.Value))
            .Match(l => throw new Xunit.Sdk.XunitException($"expected an error, got {l}"), e => e.Message);

    [Fact]
    public void No_launcher_variables_mean_one_process()
    {
        Assert.Equal(RankEnvironment.SingleProcess, Parse());
        Assert.False(Parse().IsDistributed);
    }

    [Fact]
    public void Hydra_variables_give_rank_world_and_local_layout()
    {
        var e = Parse(("PMI_RANK", "3"), ("PMI_SIZE", "4"), ("MPI_LOCALRANKID", "1"), ("MPI_LOCALNRANKS", "2"));
        Assert.Equal(new RankEnvironment(3, 4, 1, 2, "mpiexec (Hydra)"), e);
        Assert.True(e.IsDistributed);
        Assert.False(e.IsLeader);
    }

    [Fact]
    public void Other_launchers_are_understood()
    {
        Assert.Equal(new RankEnvironment(1, 2, 1, 2, "Open MPI"), Parse(("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "1"), ("OMPI_COMM_WORLD_LOCAL_SIZE", "2")));
        Assert.Equal(new RankEnvironment(5, 6, 1, 2, "Slurm"), Parse(("SLURM_PROCID", "5"), ("SLURM_NTASKS", "6"), ("SLURM_LOCALID", "1"), ("SLURM_NTASKS_PER_NODE", "2(x3)")));
        Assert.Equal(new RankEnvironment(0, 8, 0, 8, "torchrun-style"), Parse(("RANK", "0"), ("WORLD_SIZE", "8"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "8")));
    }

    [Fact]
    public void Without_local_variables_every_rank_is_taken_to_share_one_host()
    {
        Assert.Equal(new RankEnvironment(1, 2, 1, 2, "mpiexec (Hydra)"), Parse(("PMI_RANK", "1"), ("PMI_SIZE", "2")));
    }

    [Fact]
    public void Inconsistent_variables_are_errors_naming_them()
    {
        Assert.Contains("PMI_RANK=2 is not below PMI_SIZE=2", Error(("PMI_RANK", "2"), ("PMI_SIZE", "2")));
        Assert.Contains("PMI_SIZE is not set", Error(("PMI_RANK", "0")));
        Assert.Contains("'two'", Error(("RANK", "0"), ("WORLD_SIZE", "two")));
        Assert.Contains("LOCAL_RANK=3 is not below LOCAL_WORLD_SIZE=2", Error(("RANK", "0"), ("WORLD_SIZE", "4"), ("LOCAL_RANK", "3"), ("LOCAL_WORLD_SIZE", "2")));
    }

    [Fact]
    public void A_rank_gpu_is_set_where_native_code_reads_it()
    {
        // CUDA reads CUDA_VISIBLE_DEVICES with getenv(3); .NET's own environment copy is not enough.
        var saved = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        try
        {
            Environment.SetEnvironmentVariable("CUDA_VISIBLE_DEVICES", null);
            RankPlacement.AssignGpu(new RankEnvironment(3, 4, 1, 2, "test"));
            Assert.Equal("1", Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"));
            Assert.Equal("1", System.Runtime.InteropServices.Marshal.PtrToStringAnsi(getenv("CUDA_VISIBLE_DEVICES")));
            Environment.SetEnvironmentVariable("CUDA_VISIBLE_DEVICES", "4,5,6");
            RankPlacement.AssignGpu(new RankEnvironment(3, 4, 1, 2, "test"));
            Assert.Equal("5", System.Runtime.InteropServices.Marshal.PtrToStringAnsi(getenv("CUDA_VISIBLE_DEVICES")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("CUDA_VISIBLE_DEVICES", saved);
            if (saved is null) unsetenv("CUDA_VISIBLE_DEVICES");
            else setenv("CUDA_VISIBLE_DEVICES", saved, 1);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern IntPtr getenv(string name);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int setenv(string name, string value, int overwrite);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int unsetenv(string name);
}
