using Omni.Effects.Safetensors;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.Cli;
using Omni.Tests.Behaviour.ShapesModel;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// <c>--precision bf16-mixed</c> and <c>--device</c> with <c>--nproc</c>: two MPICH ranks under DDP (bfloat16 model and
/// float32 masters on every rank, the masters' gradients all-reduced) and under FSDP (float32 shards as the masters,
/// bfloat16 gathers) train, write float32 master weights, and end near the one-process bf16-mixed run; each rank brings
/// its own backend up after the launcher, and only rank 0 prints the device line.
/// </summary>
[Collection(MultiProcessCollection.Name)]
public sealed class DistributedPrecisionTests() : TwoRankRuns("omni-dist-bf16-")
{

    // As DistributedTrainingTests: 4 prompts × 2 images per step, JPEG compressibility (the tiny model's shapes reward is 0).
    private string[] Train(string run, int steps, params string[] extra) => TrainIn("bf16-mixed", run, steps, extra);

    private string[] TrainIn(string precision, string run, int steps, params string[] extra) =>
        ["train", "--model", _model, "--run", Path.Combine(_work, run), "--steps", steps.ToString(), "--reward", "jpeg_compressibility",
         "--precision", precision, "--set", "training:PromptsPerStep=4", "--set", "training:GroupSize=2",
         "--set", "training:MicroBatchSize=8", "--set", "training:SampleGridEvery=0", "--set", "training:LearningRate=1e-4", .. extra];

    /// <summary>
    /// The saved model holds the float32 masters, not their bfloat16 compute copies: every tensor is float32, and the
    /// trained values are not all bfloat16-representable (a cast-down model would be).
    /// </summary>
    private static void AssertFloat32Masters(Dictionary<string, Tensor> weights, string what)
    {
        Assert.All(weights, p => Assert.True(p.Value.dtype == ScalarType.Float32, $"{what}: {p.Key} is {p.Value.dtype}"));
        var offGrid = weights.Values.Sum(w => (w - w.to(ScalarType.BFloat16).to(ScalarType.Float32)).ne(0).sum().item<long>());
        Assert.True(offGrid > 0, $"{what}: every weight is a bfloat16 value; the export wrote the compute copies, not the masters");
    }

    private Dictionary<string, Tensor> InitialWeights()
    {
        using var file = SafetensorsFile.Open(Path.Combine(_model, "transformer", "diffusion_pytorch_model.safetensors"));
        return file.Entries.Keys.ToDictionary(k => k, k => file.Read(k));
    }

    // ‖Δ_actual − Δ_expected‖₂ / ‖Δ_expected‖₂ over every tensor, Δ being what training moved the weights by.
    private static double RelativeUpdateGap(Dictionary<string, Tensor> initial, Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        double gap = 0, moved = 0;
        foreach (var (name, start) in initial)
        {
            if (expected[name].Equals(start)) continue;
            gap += (actual[name] - expected[name]).to(ScalarType.Float64).pow(2).sum().item<double>();
            moved += (expected[name] - start).to(ScalarType.Float64).pow(2).sum().item<double>();
        }
        return Math.Sqrt(gap / moved);
    }

    private static int CountOf(string text, string what) =>
        text.Split('\n').Count(line => line.Contains(what, StringComparison.Ordinal));

    /// <summary>
    /// DDP against the one-process bf16-mixed run (the same MixedPrecision arithmetic on every rank), FSDP against FSDP in
    /// one process (the same bf16-gather arithmetic). The gap is ‖Δ_run − Δ_one‖₂ / ‖Δ_one‖₂ over the tensors training
    /// moved, Δ being the change from the initial weights after one step at a 1e-4 learning rate. Unlike float32 (1e-6 in
    /// DistributedTrainingTests), each rank's half-batch gradient is rounded to bfloat16 before the float32 reduction, where
    /// one process rounds the whole batch's, and AdamW's first step turns the sign of a near-zero gradient element into a
    /// whole ±lr step. One step, because later steps compare different rollouts: the tiny clean-image model's pictures
    /// differ within a group by a few JPEG bytes, so a rounding-level change of the weights moves a group's normalised
    /// advantages by O(1) (3 steps gave 0.19 for DDP and 0.36 for FSDP, with the same arithmetic). Measured after one step
    /// (CPU, 2 threads, 2026-11-30, the seeded fixture of <see cref="TwoRankRuns"/>):
    /// DDP 0.0028 (largest element 4.8e-5), FSDP 0.0066 (4.3e-5). Bound 0.05 for both: about 8× the larger, while a rank
    /// whose gradient were dropped would turn the update towards half of the batch.
    /// </summary>
    [Fact]
    public void Bf16_mixed_under_ddp_and_fsdp_trains_keeps_float32_masters_and_matches_one_process()
    {
        var single = Omni(Train("single", 1));
        Assert.True(single.Code == 0, single.Output + single.Error);
        // DDP with the device named explicitly: the launcher passes --device cpu to both ranks.
        var ddp = Omni(Train("ddp", 1, "--device", "cpu", "--nproc", "2", "--sharding", "ddp"));
        Assert.True(ddp.Code == 0, ddp.Output + ddp.Error);
        var fsdpSingle = Omni(Train("fsdp-single", 1, "--sharding", "fsdp"));
        Assert.True(fsdpSingle.Code == 0, fsdpSingle.Output + fsdpSingle.Error);
        var fsdp = Omni(Train("fsdp", 1, "--nproc", "2", "--sharding", "fsdp"));
        Assert.True(fsdp.Code == 0, fsdp.Output + fsdp.Error);

        foreach (var run in new[] { "single", "ddp", "fsdp-single", "fsdp" })
            DistributedTrainingTests.AssertTrainedIn(Path.Combine(_work, run, "metrics.jsonl"));
        var initial = InitialWeights();
        foreach (var (run, against, bound, output) in new[] { ("ddp", "single", 0.05, ddp.Output), ("fsdp", "fsdp-single", 0.05, fsdp.Output) })
        {
            var expected = FinalWeights(against);
            var weights = FinalWeights(run);
            AssertFloat32Masters(expected, against);
            AssertFloat32Masters(weights, run);
            var gap = RelativeUpdateGap(initial, expected, weights);
            Console.WriteLine($"{run} against {against}: relative update gap {gap:E3}, largest element {expected.Max(p => (weights[p.Key] - p.Value).abs().max().item<float>()):E2}");
            Assert.True(gap <= bound, $"{run}: the update differs from the one-process bf16-mixed run's by {gap:P1} of its size (bound {bound:P0})");
            // Rank 0 alone prints the device line and the training line, which names the precision.
            Assert.Equal(1, CountOf(output, "omni: device cpu"));
            Assert.Equal(1, CountOf(output, "on cpu in bf16-mixed"));
        }
        // FSDP never casts the module: a frozen parameter (the fixed positional table) is written exactly as it was loaded.
        var frozen = FinalWeights("fsdp")["pos_embed.pos_embed"];
        Assert.True(frozen.Equals(initial["pos_embed.pos_embed"]), "FSDP under bf16-mixed changed the frozen positional table");
        Assert.Contains("FSDP over 2 ranks", fsdp.Output);
    }

    [Fact]
    public void An_explicit_cpu_device_with_two_ranks_prints_the_device_line_once_from_rank_0_and_trains()
    {
        var ddp = Omni(["train", "--model", _model, "--run", Path.Combine(_work, "cpu"), "--steps", "1", "--reward", "jpeg_compressibility",
                        "--set", "training:PromptsPerStep=4", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=8",
                        "--set", "training:SampleGridEvery=0", "--set", "omni:evaluate=false", "--device", "cpu", "--nproc", "2"]);
        Assert.True(ddp.Code == 0, ddp.Output + ddp.Error);
        // The device line is the first line rank 0 prints (the backend comes up before the collectives and threads).
        var lines = ddp.Output.Split('\n').Where(l => l.Length > 0).ToList();
        Assert.StartsWith("omni: device cpu", lines.First(l => l.StartsWith("omni:", StringComparison.Ordinal)));
        Assert.Equal(1, CountOf(ddp.Output, "omni: device cpu"));
        Assert.Equal(1, CountOf(ddp.Output, "on cpu in float32"));
        Assert.Contains("2 ranks", ddp.Output);
        DistributedTrainingTests.AssertTrainedIn(Path.Combine(_work, "cpu", "metrics.jsonl"));
    }

    [Fact]
    public void The_launcher_refuses_an_unknown_device_once_before_starting_ranks()
    {
        var refused = Omni(Train("bad-device", 1, "--device", "tpu", "--nproc", "2"));
        Assert.Equal(2, refused.Code);
        Assert.Equal(1, CountOf(refused.Error, "Unknown device 'tpu'"));
        Assert.DoesNotContain("omni: device", refused.Output);
        Assert.False(Directory.Exists(Path.Combine(_work, "bad-device")), "ranks started although the device was refused");
    }
}
