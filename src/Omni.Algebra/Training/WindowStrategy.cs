namespace Omni.Algebra.Training;

/// <summary>How the SDE window moves between training steps.</summary>
public enum WindowStrategy
{
    /// <summary>No window: SDE on every step but the last (Flow-GRPO, DanceGRPO).</summary>
    Full,

    /// <summary>MixGRPO's default: the start is drawn by <c>random.Random(window_seed + global_step).randint</c>.</summary>
    Random,

    /// <summary>MixGRPO's progressive schedule: the window advances by its size every <c>iters_per_group</c> steps, clamped.</summary>
    Progressive,

    /// <summary>
    /// One window per sample, as the reference's request batching draws them: each sample's start is
    /// <c>torch.randint(range_start, range_end − size + 1)</c> from that sample's generator, right after its initial noise.
    /// </summary>
    PerSample,
}
