using static TorchSharp.torch;

namespace Omni.Effects.Random;

/// <summary>Seeded CPU generators (torch's mt19937), the source of every random draw in Omni.</summary>
public static class Generators
{
    /// <summary>A CPU generator seeded like <c>torch.Generator("cpu").manual_seed(seed)</c>.</summary>
    public static Generator Seeded(long seed)
    {
        var generator = new Generator(0, CPU);
        generator.manual_seed(seed);
        return generator;
    }
}
