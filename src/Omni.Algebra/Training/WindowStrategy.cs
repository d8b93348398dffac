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
}
