using Omni.Effects.Safetensors;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.Cli;
using Omni.Tests.Behaviour.ShapesModel;
using Omni.Training.Checkpoints;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// The objectives with their own update flows over two MPICH ranks, against the same command in one process (the same
/// global batch): online Diffusion-DPO under DDP (each rank pairs its own groups and draws its pairs' rows of the step's
/// noise and timesteps) and DiffusionNFT under FSDP (advantages over every rank's rewards, per-sample forward noise, a
/// sharded reference and a sharded old policy that differs from the current weights) end with the one-process weights to
/// float32 rounding (<see cref="DistributedTrainingTests.AssertSameToRounding"/>: 1e-6 absolute), and so does distillation
/// under FSDP with a sharded teacher; the sharded NFT checkpoint carries the old policy per rank and resumes bit-identically. Every process tree is killed when its time limit runs out.
/// </summary>
[Collection(MultiProcessCollection.Name)]
public sealed class DistributedObjectiveTests() : TwoRankRuns("omni-dist-obj-")
{

    /// <summary>
    /// 4 prompts × 2 images per step (two whole groups per rank), no held-out evaluation, a checkpoint every step; JPEG
    /// compressibility as the reward (the tiny model's pictures all score 0 with the shapes reward: no preference, no advantage).
    /// </summary>
    private string[] Train(string run, int steps, string algorithm, params string[] extra) =>
        ["train", "--model", _model, "--run", Path.Combine(_work, run), "--steps", steps.ToString(), "--reward", "jpeg_compressibility",
         "--set", $"actor_rollout_ref:model:algorithm={algorithm}", "--set", "omni:evaluate=false",
         "--set", "training:PromptsPerStep=4", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=8",
         "--set", "training:CheckpointEvery=1", "--set", "training:KeepCheckpoints=10", "--set", "training:SampleGridEvery=0", .. extra];

    private static double LastMetric(string metricsFile, string name) =>
        System.Text.Json.JsonDocument.Parse(File.ReadAllLines(metricsFile)[^1]).RootElement.GetProperty(name).GetDouble();

    [Fact]
    public void Online_dpo_under_ddp_over_two_ranks_ends_with_the_one_process_weights()
    {
        var single = Omni(Train("dpo-single", 3, "dpo"));
        Assert.True(single.Code == 0, single.Output + single.Error);
        DistributedTrainingTests.AssertTrainedIn(Path.Combine(_work, "dpo-single", "metrics.jsonl"));
        var ddp = Omni(Train("dpo-ddp", 3, "dpo", "--nproc", "2", "--sharding", "ddp"));
        Assert.True(ddp.Code == 0, ddp.Output + ddp.Error);

        DistributedTrainingTests.AssertSameToRounding(FinalWeights("dpo-single"), FinalWeights("dpo-ddp"), "DPO DDP");
        Assert.Equal(1, DistributedTrainingTests.CountOf(ddp.Output, "step 3/3"));
        // The pairs of the whole step (one per prompt group), not one rank's.
        foreach (var run in new[] { "dpo-single", "dpo-ddp" })
            Assert.Equal(4, LastMetric(Path.Combine(_work, run, "metrics.jsonl"), "actor/pairs"));
        // The global gradient norm (of the all-reduced gradient), not a rank's.
        var (oneNorm, twoNorm) = (LastMetric(Path.Combine(_work, "dpo-single", "metrics.jsonl"), "actor/grad_norm"),
                                  LastMetric(Path.Combine(_work, "dpo-ddp", "metrics.jsonl"), "actor/grad_norm"));
        Assert.True(Math.Abs(oneNorm - twoNorm) <= 1e-4 * oneNorm, $"gradient norm {twoNorm} over 2 ranks, {oneNorm} in one process");
    }

    [Fact]
    public void Distillation_under_fsdp_with_a_sharded_teacher_ends_with_the_one_process_weights()
    {
        var teacherFolder = Path.Combine(_work, "teacher");
        using (var teacher = TinyShapes.Create(seed: 5)) ShapesPipelineFolder.Save(teacher, teacherFolder);
        string[] distill = ["--set", $"distillation:teacher_models:teacher_model:model_path={teacherFolder}"];
        var single = Omni(Train("distill-single", 2, "distill_kl", distill));
        Assert.True(single.Code == 0, single.Output + single.Error);
        DistributedTrainingTests.AssertTrainedIn(Path.Combine(_work, "distill-single", "metrics.jsonl"));
        var fsdp = Omni(Train("distill-fsdp", 2, "distill_kl", [.. distill, "--nproc", "2", "--sharding", "fsdp"]));
        Assert.True(fsdp.Code == 0, fsdp.Output + fsdp.Error);
        Assert.Contains($"teacher {teacherFolder}", fsdp.Output);
        DistributedTrainingTests.AssertSameToRounding(FinalWeights("distill-single"), FinalWeights("distill-fsdp"), "distill_kl FSDP");
        Assert.True(LastMetric(Path.Combine(_work, "distill-fsdp", "metrics.jsonl"), "actor/distill_kl_loss") > 0, "the teacher pass did not run");
    }

    [Fact]
    public void Diffusion_nft_under_fsdp_over_two_ranks_ends_with_the_one_process_weights_and_resumes_bit_identically()
    {
        // A fixed old-policy decay keeps the old policy behind the current weights, so its passes (over swapped shards) run.
        string[] nft = ["--set", "training:OldPolicyDecay=0.5"];
        var single = Omni(Train("nft-single", 3, "diffusion_nft", nft));
        Assert.True(single.Code == 0, single.Output + single.Error);
        DistributedTrainingTests.AssertTrainedIn(Path.Combine(_work, "nft-single", "metrics.jsonl"));
        var fsdp = Omni(Train("nft-fsdp", 3, "diffusion_nft", [.. nft, "--nproc", "2", "--sharding", "fsdp"]));
        Assert.True(fsdp.Code == 0, fsdp.Output + fsdp.Error);
        Assert.Contains("FSDP over 2 ranks", fsdp.Output);
        DistributedTrainingTests.AssertSameToRounding(FinalWeights("nft-single"), FinalWeights("nft-fsdp"), "DiffusionNFT FSDP");

        var checkpoint = Path.Combine(_work, "nft-fsdp", "checkpoints", "step-000002");
        Assert.True(File.Exists(Path.Combine(checkpoint, ShardManifest.RankFile("old_policy", 1, 2))), "the sharded checkpoint has no old-policy shard of rank 1");

        // Stopped after step 2 and resumed at the same world size: the same weights, bit for bit.
        var first = Omni(Train("nft-resumed", 2, "diffusion_nft", [.. nft, "--nproc", "2", "--sharding", "fsdp"]));
        Assert.True(first.Code == 0, first.Output + first.Error);
        var again = Omni(Train("nft-resumed", 3, "diffusion_nft", [.. nft, "--nproc", "2", "--sharding", "fsdp"]));
        Assert.True(again.Code == 0, again.Output + again.Error);
        Assert.Contains("Resuming at step 2", again.Output);
        var straight = FinalWeights("nft-fsdp");
        foreach (var (name, w) in FinalWeights("nft-resumed")) Assert.True(w.Equals(straight[name]), $"resumed {name} is not bit-identical");
    }
}
