namespace Omni.Algebra.Training;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state advanced by a fixed odd gamma, each state scrambled into an
/// output by a bijective mix. Omni derives every seed and permutation it owns from it, rather than from System.Random,
/// whose seeded sequence .NET does not promise to keep across versions: runs, held-out sets and resumes must not move.
/// </summary>
public static class SplitMix64
{
    /// <summary>The state increment (2⁶⁴ divided by the golden ratio, made odd).</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The output function: a bijective avalanche of a 64-bit value.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Advances <paramref name="state"/> by <see cref="Gamma"/> and returns the new state's output.</summary>
    public static ulong Next(ref ulong state) => Mix(state += Gamma);
}
