namespace Omni.Training.Distributed;

/// <summary>
/// Bytes one rank holds for training state, counted from the live tensors: the policy's registered parameters (its shards
/// under FSDP), the frozen reference's and distillation teacher's, DiffusionNFT's old-policy copy, a gradient per trained
/// parameter, and the optimizer's moments.
/// </summary>
/// <param name="ParameterBytes">Policy parameters (trained and frozen) plus the frozen reference's and teacher's and the old policy's, on this rank.</param>
/// <param name="GradientBytes">One gradient per trained parameter, as accumulated during an update.</param>
/// <param name="OptimizerStateBytes">AdamW's first and second moments.</param>
public sealed record TrainingMemory(long ParameterBytes, long GradientBytes, long OptimizerStateBytes)
{
    /// <summary>All three.</summary>
    public long TotalBytes => ParameterBytes + GradientBytes + OptimizerStateBytes;
}
