using System.Collections.Immutable;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Algebra.Schedules;

/// <summary>
/// An immutable inference schedule: what the reference scheduler holds after <c>set_timesteps</c>.
/// The values live on the host, exactly as float32, so one state serves a rollout and its training
/// recomputation bit for bit on any device; tensors are made on request for the device at hand.
/// </summary>
/// <param name="Config">The configuration the schedule was derived from.</param>
/// <param name="Sigmas">n + 1 float32 sigmas: the schedule with its terminal value (0, or 1 when inverted) appended.</param>
/// <param name="Timesteps">n float32 timesteps, <c>σ·N</c>.</param>
public sealed record SchedulerState(SchedulerConfig Config, ImmutableArray<float> Sigmas, ImmutableArray<float> Timesteps)
{
    /// <summary>The number of inference steps n.</summary>
    public int NumInferenceSteps => Timesteps.Length;

    /// <summary>A new float32 tensor of the n + 1 sigmas on <paramref name="device"/> (CPU by default); the caller owns it.</summary>
    public Tensor SigmasTensor(Device? device = null) => tensor(Sigmas.ToArray(), ScalarType.Float32, device ?? CPU);

    /// <summary>A new float32 tensor of the n timesteps on <paramref name="device"/> (CPU by default); the caller owns it.</summary>
    public Tensor TimestepsTensor(Device? device = null) => tensor(Timesteps.ToArray(), ScalarType.Float32, device ?? CPU);

    /// <inheritdoc />
    public bool Equals(SchedulerState? other) =>
        other is not null && Config == other.Config
        && Sigmas.AsSpan().SequenceEqual(other.Sigmas.AsSpan())
        && Timesteps.AsSpan().SequenceEqual(other.Timesteps.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Config, Sigmas.Length, Timesteps.Length, Timesteps.IsEmpty ? 0f : Timesteps[0]);
}
