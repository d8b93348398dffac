namespace Omni.Algebra.Training;

/// <summary>
/// Every random choice of a run derived from (run seed, training step, sample, purpose) by a SplitMix64 hash,
/// so that a step's draws do not depend on how many draws came before it — which is what makes a resumed run
/// identical to an uninterrupted one without saving generator states.
/// </summary>
/// <param name="Seed">The run's seed.</param>
public readonly record struct SeedStreams(long Seed)
{
    /// <summary>What a seed is for; each purpose is an independent stream.</summary>
    public enum Purpose
    {
        /// <summary>Choosing the prompts of a step.</summary>
        Prompts = 1,

        /// <summary>A sample's initial noise.</summary>
        InitialNoise = 2,

        /// <summary>A sample's per-step SDE noise.</summary>
        StepNoise = 3,

        /// <summary>Which timesteps are trained and in what order.</summary>
        Timesteps = 4,

        /// <summary>Micro-batch shuffling.</summary>
        Shuffle = 5,

        /// <summary>Forward-process noise and timesteps (Diffusion-DPO's pairs, DiffusionNFT's re-noised latents).</summary>
        ForwardNoise = 6,
    }

    /// <summary>A 63-bit non-negative seed for (step, index, purpose).</summary>
    public long For(Purpose purpose, long step, long index = 0)
    {
        var h = Mix((ulong)Seed);
        h = Mix(h ^ (ulong)purpose);
        h = Mix(h ^ (ulong)step);
        h = Mix(h ^ (ulong)index);
        return (long)(h >> 1);
    }

    /// <summary>
    /// A permutation of 0..count−1 for (purpose, step, index): Fisher–Yates driven by a SplitMix64 sequence, so the order is
    /// fixed by this code alone (System.Random's seeded sequence is not promised to stay the same across .NET versions).
    /// </summary>
    public int[] Permutation(Purpose purpose, long step, long index, int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var state = (ulong)For(purpose, step, index);
        for (var i = count - 1; i > 0; i--)
        {
            state += SplitMix64.Gamma;
            var j = (int)((Mix(state) >> 1) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    // One SplitMix64 step from z (z is a copy: the caller's value does not advance).
    private static ulong Mix(ulong z) => SplitMix64.Next(ref z);
}
