using System.Globalization;
using TorchSharp;

namespace Omni.Effects.Distributed;

/// <summary>Starts the collectives of the job this process belongs to.</summary>
public static class Collectives
{
    /// <summary>The default time one collective may wait for the other ranks: 30 minutes (rank 0 may evaluate or export meanwhile).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The time limit of one collective: <c>OMNI_COLLECTIVE_TIMEOUT</c> (seconds) when set, else <see cref="DefaultTimeout"/>.
    /// </summary>
    public static TimeSpan TimeoutFromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable("OMNI_COLLECTIVE_TIMEOUT");
        if (string.IsNullOrWhiteSpace(text)) return DefaultTimeout;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"OMNI_COLLECTIVE_TIMEOUT='{text}' is not a positive number of seconds.");
    }

    /// <summary>
    /// The collectives for <paramref name="layout"/>: the identity for one process (or NCCL at world size 1 when asked for,
    /// to exercise it on one GPU), MPI for CPU tensors, NCCL for CUDA tensors (<paramref name="device"/>, the device the model
    /// lives on, decides under <see cref="CollectivesBackend.Auto"/>).
    /// </summary>
    /// <exception cref="DistributedException">The backend cannot serve this launch (e.g. NCCL for CPU tensors); the message says what to change.</exception>
    public static ICollectives Start(RankEnvironment layout, CollectivesBackend backend, TorchSharp.torch.Device device, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeoutFromEnvironment();
        if (backend == CollectivesBackend.Nccl && device.type != DeviceType.CUDA)
            throw new DistributedException(layout.Rank, $"NCCL works on CUDA tensors, but the model is on {device}. Use the MPI backend (the default on the CPU) or put the model on a GPU.");
        if (backend == CollectivesBackend.Mpi && device.type != DeviceType.CPU)
            throw new DistributedException(layout.Rank, $"the MPI backend works on CPU tensors, but the model is on {device}. Use NCCL for GPU tensors.");
        var useNccl = backend == CollectivesBackend.Nccl || (backend == CollectivesBackend.Auto && device.type == DeviceType.CUDA && layout.IsDistributed);
        if (!layout.IsDistributed && !useNccl) return new SingleProcessCollectives(device);
        if (!useNccl) return Mpi.MpiCollectives.Join(layout, limit);
        // NCCL carries the tensors; MPI (when mpiexec started the job) carries NCCL's unique id and the fault handling.
        var control = layout.IsDistributed && layout.Launcher == "mpiexec (Hydra)" ? Mpi.MpiCollectives.Join(layout, limit) : null;
        try { return Nccl.NcclCollectives.Join(layout, limit, control); }
        catch { control?.Dispose(); throw; }
    }
}
