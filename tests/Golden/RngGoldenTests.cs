using Omni.Effects.Random;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>Seeded CPU draws reproduce PyTorch's <c>randn</c> and diffusers' <c>randn_tensor</c> bit for bit.</summary>
public sealed class RngGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("rng");

    /// <summary>Every case, whatever its op; unknown ops fail.</summary>
    public static TheoryData<string> Cases => Suite.Ids(_ => true);

    [Theory, MemberData(nameof(Cases))]
    public void Draw_is_bit_identical_to_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var shape = c.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var dtype = c.GetProperty("dtype").GetString() switch
        {
            "float32" => ScalarType.Float32,
            "float64" => ScalarType.Float64,
            var other => throw new NotSupportedException($"rng case {id}: dtype {other}"),
        };
        switch (c.GetProperty("op").GetString())
        {
            case "randn":
            {
                var noise = NoiseSource.Seeded(c.GetProperty("seed").GetInt64()).Draw(shape, dtype);
                TensorAssert.Identical(noise, Suite.Tensor(c, "outputs", "value"), id);
                break;
            }
            case "randn_twice":
            {
                var source = NoiseSource.Seeded(c.GetProperty("seed").GetInt64());
                TensorAssert.Identical(source.Draw(shape, dtype), Suite.Tensor(c, "outputs", "first"), id + " first");
                TensorAssert.Identical(source.Draw(shape, dtype), Suite.Tensor(c, "outputs", "second"), id + " second");
                break;
            }
            case "randn_tensor_generator_list":
            {
                var seeds = c.GetProperty("seeds").EnumerateArray().Select(s => s.GetInt64());
                var noise = NoiseSource.PerSample(seeds).Draw(shape, dtype);
                TensorAssert.Identical(noise, Suite.Tensor(c, "outputs", "value"), id);
                break;
            }
            case var op:
                Assert.Fail($"rng case {id} has an op this suite does not know: {op}");
                break;
        }
    }
}
