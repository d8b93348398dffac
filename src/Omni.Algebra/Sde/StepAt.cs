using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// Where in the schedule a step is taken, named after the reference's arguments: <see cref="Index"/> — one schedule
/// position shared by the batch (the rollout path, <c>step_index</c> made explicit, <c>timestep=None</c>) — or
/// <see cref="Timesteps"/> — one timestep value per sample (the training path, <c>timestep=</c>, matched exactly
/// against the schedule).
/// </summary>
public abstract record StepAt
{
    private StepAt() { }

    /// <summary>Every sample is at schedule position <paramref name="index"/> (0 ≤ index &lt; n).</summary>
    public static StepAt Index(int index) => new OfIndex(index);

    /// <summary>Each row b is at the schedule position whose timestep equals <c>timesteps[b]</c>; a 1-D floating tensor of length B.</summary>
    public static StepAt Timesteps(Tensor timesteps) => new OfTimesteps(timesteps);

    internal sealed record OfIndex(int Value) : StepAt;

    internal sealed record OfTimesteps(Tensor Values) : StepAt;
}
