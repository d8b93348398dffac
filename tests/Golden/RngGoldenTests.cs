using Omni.Effects.Random;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>Seeded CPU draws reproduce PyTorch's <c>randn</c> and diffusers' <c>randn_tensor</c> bit for bit.</summary>
[ChecksFixture("rng")]
public sealed class RngGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("rng");

    /// <summary>Every case, whatever its op; unknown ops fail.</summary>
    public static TheoryData<string> Cases => Suite.Ids(_ => true);

    [Theory, MemberData(nameof(Cases))]
    public void Draw_is_bit_identical_to_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var shape = c.Longs("shape");
        var dtype = c.String("dtype") switch
        {
            "float32" => ScalarType.Float32,
            "float64" => ScalarType.Float64,
            var other => throw new NotSupportedException($"rng case {id}: dtype {other}"),
        };
        switch (Suite.Raw(id).GetProperty("op").GetString())
        {
            case "randn":
                TensorAssert.Identical(NoiseSource.Seeded(c.Long("seed")).Draw(shape, dtype), c.Output("value"), id);
                break;
            case "randn_twice":
            {
                var source = NoiseSource.Seeded(c.Long("seed"));
                TensorAssert.Identical(source.Draw(shape, dtype), c.Output("first"), id + " first");
                TensorAssert.Identical(source.Draw(shape, dtype), c.Output("second"), id + " second");
                break;
            }
            case "randn_tensor_generator_list":
                TensorAssert.Identical(NoiseSource.PerSample(c.Longs("seeds")).Draw(shape, dtype), c.Output("value"), id);
                break;
            case var op:
                Assert.Fail($"rng case {id} has an op this suite does not know: {op}");
                break;
        }
    });
}
