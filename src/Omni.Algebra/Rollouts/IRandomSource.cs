using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// A source of standard-normal noise handed to the core by the caller (the core never touches a global RNG).
/// <c>Omni.Effects.Random.NoiseSource</c> implements it with seeded CPU generators.
/// </summary>
public interface IRandomSource
{
    /// <summary>Draws standard-normal noise of <paramref name="shape"/> on <paramref name="device"/>.</summary>
    Tensor Draw(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null);
}
