using Omni.Algebra.Config;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Facade.Pipelines;
using Omni.Tests.Behaviour.Support;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>
/// Per-sample SDE windows as the reference's request batching draws them (<c>sample_per_sample_sde_windows</c>): each sample's
/// start comes from its own generator after its initial noise, so a packed batch samples exactly what each request would alone.
/// </summary>
public sealed class PerSampleWindowTests
{
    private static readonly SdeSettings TwoOfFive = new() { NoiseLevel = 0.7, WindowSize = 2, WindowRange = (0, 5) };

    // The reference's test advances each generator by an 8-element draw before the window draw, as the initial latents do.
    private static Generator Advanced(long seed)
    {
        var generator = Generators.Seeded(seed);
        using var _ = randn([8], generator: generator);
        return generator;
    }

    [Fact]
    public void Packed_windows_equal_the_serial_ones_in_any_pack_order()
    {
        long[] seeds = [11, 22, 33];
        var serial = seeds.Select(s => SdeWindows.PerSample(TwoOfFive, 10, [Advanced(s)])[0]).ToArray();
        int[] order = [2, 0, 1];
        var packed = SdeWindows.PerSample(TwoOfFive, 10, order.Select(i => Advanced(seeds[i])).ToArray());
        Assert.Equal(order.Select(i => serial[i]), packed);
        Assert.All(packed, w => Assert.Equal(2, w.Length));
        Assert.All(packed, w => Assert.InRange(w.Start, 0, 3));
    }

    [Fact]
    public void Window_starts_come_from_torch_randint_with_the_samples_generator()
    {
        // PyTorch's own record: torch.manual_seed(0); torch.randint(0, 10, (5,)) gives tensor([4, 9, 3, 0, 3]).
        using var generator = Generators.Seeded(0);
        using var draws = randint(0, 10, [5], ScalarType.Int64, CPU, generator: generator);
        Assert.Equal([4L, 9, 3, 0, 3], draws.data<long>().ToArray());
    }

    [Fact]
    public void Without_a_size_every_sample_trains_every_step_but_the_last()
    {
        var windows = SdeWindows.PerSample(new SdeSettings(), 6, [Generators.Seeded(1), Generators.Seeded(2)]);
        Assert.All(windows, w => Assert.Equal(new SdeWindow(0, 5), w));
    }

    [Fact]
    public void Starts_are_uniform_over_the_envelope()
    {
        var starts = Enumerable.Range(0, 400).Select(s => SdeWindows.PerSample(TwoOfFive, 10, [Advanced(s)])[0].Start).ToArray();
        Assert.Equal([0, 1, 2, 3], starts.Distinct().Order());
        Assert.All(starts.GroupBy(s => s), g => Assert.InRange(g.Count(), 60, 140));
    }

    [Fact]
    public void A_packed_rollout_records_for_each_sample_what_its_own_rollout_records()
    {
        using var scope = NewDisposeScope();
        using var folder = new TestModelFolder();
        var pipeline = OmniPipeline.FromFolder(folder.Path).WithAlgorithm("flow_grpo").WithSde(SdeType.Sde, 0.7).WithSteps(8).WithSize(64, 64)
            .WithSdeWindow(3, (0, 6))
            .WithAdapter(TinyAdapter.Architecture, "flow_grpo", TinyAdapter.Training, TinyAdapter.Rollout)
            .Build();
        using var module = new TinyDenoiser(TinyAdapter.Channels, TinyAdapter.PromptWidth);
        var prompts = NoiseSource.Seeded(3).Draw([4, 5, TinyAdapter.PromptWidth]);
        long[] seeds = [11, 12, 13, 14];
        using var packed = pipeline.Rollout(module, prompts, seeds);
        var starts = Enumerable.Range(0, 4).Select(b => Array.IndexOf(pipeline.Schedule.Timesteps.ToArray(), packed.Timesteps[b, 0].item<float>())).ToArray();
        Assert.True(starts.Distinct().Count() > 1, $"the seeds should draw different windows, got starts [{string.Join(", ", starts)}]");
        for (var b = 0; b < 4; b++)
        {
            using var alone = pipeline.Rollout(module, prompts.narrow(0, b, 1), [seeds[b]]);
            Assert.True(alone.Timesteps[0].Equals(packed.Timesteps[b]), $"sample {b}: its window differs when packed");
            Close(alone.Latents[0], packed.Latents[b], $"sample {b} latents");
            Close(alone.LogProbs[0], packed.LogProbs[b], $"sample {b} log-probs");
            Close(alone.FinalLatents[0], packed.FinalLatents[b], $"sample {b} final latents");
        }
        for (var step = 0; step < 3; step++)
        {
            var recomputed = pipeline.Recompute(module, packed, step);
            Close(recomputed.LogProb, packed.LogProbs.select(1, step), $"recomputed step {step}");
        }
    }

    private static void Close(Tensor a, Tensor b, string what)
    {
        var gap = (a - b).abs().max().item<float>();
        Assert.True(gap <= 1e-5 * (1 + b.abs().max().item<float>()), $"{what}: differ by {gap:E2}");
    }
}
