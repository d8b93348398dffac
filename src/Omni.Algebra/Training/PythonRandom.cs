namespace Omni.Algebra.Training;

/// <summary>
/// CPython's <c>random.Random</c> (MT19937 seeded by <c>init_by_array</c> from an integer), enough of it to reproduce
/// the reference's MixGRPO window draw <c>random.Random(seed + global_steps).randint(a, b)</c> bit for bit.
/// An immutable value: every draw returns the value and the advanced generator, so callers hold no hidden state.
/// </summary>
public sealed class PythonRandom
{
    private const int N = 624;
    private readonly uint[] _state;
    private readonly int _index;

    private PythonRandom(uint[] state, int index) => (_state, _index) = (state, index);

    /// <summary>The generator <c>random.Random(seed)</c> creates (Python seeds from the absolute value of an integer).</summary>
    public static PythonRandom Seeded(long seed)
    {
        var magnitude = seed == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)Math.Abs(seed);
        var key = magnitude >> 32 == 0 ? new[] { (uint)magnitude } : new[] { (uint)magnitude, (uint)(magnitude >> 32) };
        return new PythonRandom(InitByArray(key), N);
    }

    /// <summary>A float in [0, 1) with 53 random bits, as <c>random()</c>.</summary>
    public (double Value, PythonRandom Next) NextDouble()
    {
        var (a, g1) = NextUInt32();
        var (b, g2) = g1.NextUInt32();
        return (((a >> 5) * 67108864.0 + (b >> 6)) * (1.0 / 9007199254740992.0), g2);
    }

    /// <summary>An integer in [low, high], both inclusive, as <c>randint(low, high)</c> (rejection sampling on <c>getrandbits</c>).</summary>
    /// <exception cref="ArgumentException">high &lt; low, or the range needs more than 32 bits.</exception>
    public (int Value, PythonRandom Next) RandInt(int low, int high)
    {
        if (high < low) throw new ArgumentException($"empty range for randint({low}, {high})");
        var n = (long)high - low + 1;
        var bits = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n);
        if (bits > 32) throw new ArgumentException("randint ranges wider than 2^32 are not supported.");
        var generator = this;
        while (true)
        {
            var (word, next) = generator.NextUInt32();
            generator = next;
            var r = word >> (32 - bits);
            if (r < n) return ((int)(low + r), generator);
        }
    }

    /// <summary>The next 32-bit output of the Mersenne Twister.</summary>
    public (uint Value, PythonRandom Next) NextUInt32()
    {
        var state = _state;
        var index = _index;
        if (index >= N)
        {
            state = Twist(state);
            index = 0;
        }
        var y = state[index];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return (y, new PythonRandom(state, index + 1));
    }

    private static uint[] InitGenRand(uint seed)
    {
        var mt = new uint[N];
        mt[0] = seed;
        for (var i = 1; i < N; i++) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint)i;
        return mt;
    }

    private static uint[] InitByArray(uint[] key)
    {
        var mt = InitGenRand(19650218u);
        int i = 1, j = 0;
        for (var k = Math.Max(N, key.Length); k > 0; k--)
        {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j;
            i++; j++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
            if (j >= key.Length) j = 0;
        }
        for (var k = N - 1; k > 0; k--)
        {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
        }
        mt[0] = 0x80000000u;
        return mt;
    }

    private static uint[] Twist(uint[] previous)
    {
        var mt = (uint[])previous.Clone();
        for (var k = 0; k < N; k++)
        {
            var y = (mt[k] & 0x80000000u) | (mt[(k + 1) % N] & 0x7fffffffu);
            mt[k] = mt[(k + 397) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908b0dfu : 0u);
        }
        return mt;
    }
}
