using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Effects.Random;

/// <summary>
/// Where Gaussian noise comes from: one seeded CPU generator for the whole batch, or one generator per
/// sample (diffusers' <c>randn_tensor</c> with a list of generators: each row draws <c>(1, …)</c> and the
/// rows are concatenated). Draws happen on the CPU — the only place torch's generators reproduce Python
/// PyTorch bit for bit — and the result is moved to the target device afterwards. The generators are
/// stateful: each draw advances them, exactly as the reference's calls do.
/// </summary>
public abstract class NoiseSource : Omni.Algebra.Rollouts.IRandomSource
{
    private NoiseSource() { }

    /// <summary>Draws standard-normal noise of <paramref name="shape"/> and moves it to <paramref name="device"/>.</summary>
    public abstract Tensor Draw(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null);

    /// <summary>One CPU generator seeded with <paramref name="seed"/> for the whole batch.</summary>
    public static NoiseSource Seeded(long seed) => new Single(Generators.Seeded(seed));

    /// <summary>One CPU generator per sample, seeded with <paramref name="seeds"/> in row order.</summary>
    public static NoiseSource PerSample(IEnumerable<long> seeds) => new PerRow(seeds.Select(Generators.Seeded).ToArray());

    /// <summary>Draws from an existing generator (advancing it).</summary>
    public static NoiseSource From(Generator generator) => new Single(generator);

    /// <summary>Draws one row from each existing generator (advancing each).</summary>
    public static NoiseSource From(IReadOnlyList<Generator> generators) => new PerRow(generators.ToArray());

    private sealed class Single(Generator generator) : NoiseSource
    {
        public override Tensor Draw(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null)
        {
            var noise = randn(shape, dtype, CPU, generator: generator);
            return Move(noise, device);
        }
    }

    private sealed class PerRow(Generator[] generators) : NoiseSource
    {
        public override Tensor Draw(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null)
        {
            if (shape.Length == 0 || shape[0] != generators.Length)
                throw new ArgumentException(
                    $"Expected {generators.Length} rows (one per generator), got shape ({string.Join(", ", shape)}).", nameof(shape));
            using var scope = NewDisposeScope();
            var rowShape = shape.ToArray();
            rowShape[0] = 1;
            var rows = generators.Select(g => randn(rowShape, dtype, CPU, generator: g)).ToArray();
            return Move(cat(rows, 0), device).MoveToOuterDisposeScope();
        }
    }

    private static Tensor Move(Tensor noise, Device? device)
    {
        if (device is null || device.type == DeviceType.CPU) return noise;
        var moved = noise.to(device);
        noise.Dispose();
        return moved;
    }
}
