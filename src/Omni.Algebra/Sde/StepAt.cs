using static TorchSharp.torch;

namespace Omni.Algebra.Sde;

/// <summary>
/// Where in the schedule a step is taken: one step index shared by the batch (the rollout path, the
/// reference's <c>step_index</c> made explicit) or one timestep value per sample (the training path,
/// matched exactly against the schedule).
/// </summary>
public abstract record StepAt
{
    private StepAt() { }

    /// <summary>Every sample is at schedule position <paramref name="Value"/> (0 ≤ value &lt; n).</summary>
    public sealed record Index(int Value) : StepAt;

    /// <summary>Each row b is at the schedule position whose timestep equals <c>Values[b]</c>; a 1-D floating tensor of length B.</summary>
    public sealed record PerSample(Tensor Values) : StepAt;

    /// <summary>The step at schedule position <paramref name="index"/>.</summary>
    public static StepAt At(int index) => new Index(index);

    /// <summary>Per-sample steps located by their timestep values.</summary>
    public static StepAt Timesteps(Tensor perSampleTimesteps) => new PerSample(perSampleTimesteps);
}
