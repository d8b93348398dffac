namespace Omni.Effects.Distributed;

/// <summary>Which engine carries the collectives.</summary>
public enum CollectivesBackend
{
    /// <summary>NCCL when the model is on a CUDA device, MPI otherwise; the identity for a one-process job.</summary>
    Auto,
    /// <summary>MPICH on CPU tensors.</summary>
    Mpi,
    /// <summary>NCCL on CUDA tensors (the unique id travels over MPI or <c>NCCL_COMM_ID</c>).</summary>
    Nccl,
}
