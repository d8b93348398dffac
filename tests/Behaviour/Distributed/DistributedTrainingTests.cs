using System.Diagnostics;
using Omni.Effects.Safetensors;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.Cli;
using Omni.Tests.Behaviour.ShapesModel;
using Omni.Training.Checkpoints;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// <c>omni train</c> over two MPICH ranks on a tiny shapes model, against the same command in one process (the same global
/// batch): DDP and FSDP end with the one-process weights to float32 rounding, print the held-out figures once, resume
/// sharded checkpoints bit-identically and reshard them across world sizes; a killed rank stops the job within the bound
/// with the rank named, and the same command resumes; bad launches are refused with exit code 2 before any work.
/// Every process tree these tests start is killed when its time limit runs out.
/// </summary>
[Collection(MultiProcessCollection.Name)]
public sealed class DistributedTrainingTests() : TwoRankRuns("omni-dist-")
{

    /// <summary>
    /// 4 prompts × 2 images per step (two whole groups per rank), one micro-batch per rank, a checkpoint every step (all kept).
    /// JPEG compressibility is the training reward: the tiny model's pictures all score 0 with the shapes reward, whose zero
    /// advantages would leave the weights where they started and make every comparison below trivially true.
    /// </summary>
    private string[] Train(string run, int steps, params string[] extra) =>
        ["train", "--model", _model, "--run", Path.Combine(_work, run), "--steps", steps.ToString(), "--reward", "jpeg_compressibility",
         "--set", "training:PromptsPerStep=4", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=8",
         "--set", "training:CheckpointEvery=1", "--set", "training:KeepCheckpoints=10", "--set", "training:SampleGridEvery=0", .. extra];

    /// <summary>
    /// The one-process run the others are compared with had real updates: a gradient norm well above rounding at every step
    /// (else equal weights would prove nothing about how the ranks combine their gradients).
    /// </summary>
    internal static void AssertTrainedIn(string metricsFile)
    {
        foreach (var line in File.ReadAllLines(metricsFile))
        {
            var norm = System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("actor/grad_norm").GetDouble();
            Assert.True(norm > 1e-6, $"{metricsFile}: a step's gradient norm is {norm}; the comparison would be vacuous");
        }
    }

    private void AssertTrained(string run) => AssertTrainedIn(Path.Combine(_work, run, "metrics.jsonl"));

    private Dictionary<string, Tensor> LoraWeights(string run)
    {
        using var file = SafetensorsFile.Open(Path.Combine(_work, run, "final-lora", global::Omni.Models.Lora.LoraFiles.DiffusersWeights));
        return file.Entries.Keys.ToDictionary(k => k, k => file.Read(k));
    }

    /// <summary>
    /// Float32 rounding: the ranks reduce their half-batch means in another order than one process reduces the whole batch.
    /// Tolerance: every element within 1e-6 absolute, 1 % of one optimizer step at the 1e-4 learning rate (measured gaps
    /// after 3 steps are below 1e-7 on this model and on the bundled one).
    /// </summary>
    internal static void AssertSameToRounding(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual, string what)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        var worst = expected.Max(p => (actual[p.Key] - p.Value).abs().max().item<float>());
        Console.WriteLine($"{what}: largest weight gap {worst:E2}");
        foreach (var (name, e) in expected)
        {
            var gap = (actual[name] - e).abs().max().item<float>();
            Assert.True(gap <= 1e-6f, $"{what}: {name} differs by {gap} (largest gap over all tensors {worst})");
        }
    }

    [Fact]
    public void Ddp_and_fsdp_over_two_ranks_end_with_the_one_process_weights()
    {
        var single = Omni(Train("single", 3));
        Assert.True(single.Code == 0, single.Error);
        var ddp = Omni(Train("ddp", 3, "--nproc", "2", "--sharding", "ddp"));
        Assert.True(ddp.Code == 0, ddp.Output + ddp.Error);
        using var fsdpJob = MpiJob.Omni(2, _work, null, Train("fsdp", 3, "--sharding", "fsdp"));
        Assert.True(fsdpJob.Wait(Limit) == 0, fsdpJob.Transcript);

        AssertTrained("single");
        var expected = FinalWeights("single");
        AssertSameToRounding(expected, FinalWeights("ddp"), "DDP");
        AssertSameToRounding(expected, FinalWeights("fsdp"), "FSDP");
        foreach (var output in new[] { ddp.Output, fsdpJob.Output })
        {
            Assert.Equal(2, CountOf(output, "held-out reward before:"));
            Assert.Equal(1, CountOf(output, "held-out reward after:"));
            Assert.Equal(1, CountOf(output, "step 3/3"));
        }
        Assert.Contains("sharding ddp", ddp.Output);
        Assert.Contains("FSDP over 2 ranks", fsdpJob.Output);
        Assert.True(File.Exists(Path.Combine(_work, "fsdp", "checkpoints", "step-000003", ShardManifest.FileName)));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_work, "ddp", "metrics.jsonl")).Length);
    }

    [Fact]
    public void Lora_under_fsdp_shards_the_frozen_base_too_and_ends_with_the_one_process_weights()
    {
        var single = Omni(Train("lora-single", 2, "--set", "omni:lora_rank=4"));
        Assert.True(single.Code == 0, single.Error);
        AssertTrained("lora-single");
        var fsdp = Omni(Train("lora-fsdp", 2, "--set", "omni:lora_rank=4", "--nproc", "2", "--sharding", "fsdp"));
        Assert.True(fsdp.Code == 0, fsdp.Output + fsdp.Error);
        Assert.Contains("LoRA rank 4, alpha 64); FSDP over 2 ranks", fsdp.Output);
        // The adapters (final-lora, gathered and written by rank 0) and the final model they were merged into.
        var adapters = LoraWeights("lora-single");
        Assert.Contains(adapters.Keys, k => k.Contains("lora_B"));
        Assert.True(adapters.Any(p => p.Key.Contains("lora_B") && p.Value.abs().max().item<float>() > 0), "the LoRA adapters did not train\n" + single.Output);
        AssertSameToRounding(adapters, LoraWeights("lora-fsdp"), "LoRA FSDP adapters");
        AssertSameToRounding(FinalWeights("lora-single"), FinalWeights("lora-fsdp"), "LoRA FSDP merged model");
    }

    [Fact]
    public void A_sharded_checkpoint_resumes_bit_identically_and_reshards_across_world_sizes()
    {
        // 2 ranks straight through, and 2 ranks stopped after step 2 then resumed at the same world size: bit-identical.
        Assert.Equal(0, Omni(Train("straight", 4, "--nproc", "2", "--sharding", "fsdp")).Code);
        Assert.Equal(0, Omni(Train("resumed", 2, "--nproc", "2", "--sharding", "fsdp")).Code);
        var again = Omni(Train("resumed", 4, "--nproc", "2", "--sharding", "fsdp"));
        Assert.True(again.Code == 0, again.Error);
        Assert.Contains("Resuming at step 2", again.Output);
        var straight = FinalWeights("straight");
        foreach (var (name, w) in FinalWeights("resumed")) Assert.True(w.Equals(straight[name]), $"resumed {name} is not bit-identical");

        // The 2-rank checkpoint of step 2 continued by one process, and a one-process checkpoint continued by 2 FSDP ranks.
        var one = Omni(Train("one", 4));
        Assert.Equal(0, one.Code);
        CopyRun("resumed", "two-to-one", upToStep: 2);
        var down = Omni(Train("two-to-one", 4));
        Assert.True(down.Code == 0, down.Error);
        Assert.Contains("Resuming at step 2", down.Output);
        CopyRun("one", "one-to-two", upToStep: 2);
        var up = Omni(Train("one-to-two", 4, "--nproc", "2", "--sharding", "fsdp"));
        Assert.True(up.Code == 0, up.Error);
        Assert.Contains("Resuming at step 2", up.Output);
        var reference = FinalWeights("one");
        AssertSameToRounding(reference, FinalWeights("two-to-one"), "2 → 1 ranks");
        AssertSameToRounding(reference, FinalWeights("one-to-two"), "1 → 2 ranks");
    }

    // A run folder whose latest checkpoint is step `upToStep` (the later checkpoints are left out).
    private void CopyRun(string from, string to, int upToStep)
    {
        var source = Path.Combine(_work, from, "checkpoints", $"step-{upToStep:D6}");
        var target = Path.Combine(_work, to, "checkpoints", $"step-{upToStep:D6}");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(_work, to, "checkpoints", "latest"), $"step-{upToStep:D6}");
    }

    [Fact]
    public void Killing_one_rank_stops_the_other_within_a_minute_naming_it_and_the_same_command_resumes()
    {
        string[] args = Train("killed", 40, "--nproc", "2", "--sharding", "ddp");
        using var job = new OmniProcess(_work, args);
        var checkpoints = Path.Combine(_work, "killed", "checkpoints");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (TrainingCheckpoint.Latest(Path.Combine(_work, "killed")) is null && DateTime.UtcNow < deadline) Thread.Sleep(200);
        Assert.True(TrainingCheckpoint.Latest(Path.Combine(_work, "killed")) is not null, $"no checkpoint within 3 minutes\n{job.Output}\n{job.Error}");
        var rank1 = RankProcess(1);
        Assert.True(rank1 is not null, $"rank 1 not found\n{job.Output}\n{job.Error}");
        var rank0 = RankProcess(0)!;
        rank1!.Kill();
        var clock = Stopwatch.StartNew();
        var code = job.Wait(TimeSpan.FromSeconds(60));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        Assert.True(rank0.WaitForExit(TimeSpan.FromSeconds(5)), "rank 0 is still running");
        Assert.Contains($"rank 1 (pid {rank1.Id}) ended first", job.Error);
        Assert.Contains("run the same command to resume", job.Error);

        var stoppedAt = TrainingCheckpoint.ReadState(TrainingCheckpoint.Latest(Path.Combine(_work, "killed"))!).Step;
        var resumed = Train("killed", stoppedAt + 1, "--nproc", "2", "--sharding", "ddp");
        var (again, output, error) = Omni(resumed);
        Assert.True(again == 0, output + error);
        Assert.Contains($"Resuming at step {stoppedAt}", output);
        Assert.True(Directory.Exists(checkpoints));
    }

    // The training ranks are `dotnet omni.dll train … --run <this test's folder>` processes; find one by its rank variable.
    private Process? RankProcess(int rank)
    {
        foreach (var p in Process.GetProcessesByName("dotnet"))
        {
            try
            {
                var environ = File.ReadAllText($"/proc/{p.Id}/environ").Split('\0');
                var cmdline = File.ReadAllText($"/proc/{p.Id}/cmdline");
                if (cmdline.Contains(_work) && environ.Contains($"PMI_RANK={rank}")) return p;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return null;
    }

    [Theory]
    [InlineData("world", "does not divide the step's 3 prompt groups", "--nproc", "2", "--set", "training:PromptsPerStep=3", "--set", "training:MicroBatchSize=12")]
    [InlineData("none", "--sharding none cannot serve 2 ranks", "--nproc", "2", "--sharding", "none")]
    [InlineData("unknown", "Unknown sharding 'zero'", "--nproc", "2", "--sharding", "zero")]
    [InlineData("nproc", "--nproc must be at least 1", "--nproc", "0")]
    public void Bad_launches_exit_2_before_any_work(string run, string message, params string[] extra)
    {
        var clock = Stopwatch.StartNew();
        var (code, _, error) = Omni(["train", "--model", _model, "--run", Path.Combine(_work, run), "--steps", "2", .. extra]);
        Assert.True(code == 2, $"exit {code}: {error}");
        Assert.Contains(message, error);
        Assert.False(Directory.Exists(Path.Combine(_work, run)), "the refused launch created its run folder");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"refusing took {clock.Elapsed}");
    }

    [Fact]
    public void Nccl_on_cpu_tensors_is_refused_with_exit_2_by_every_rank()
    {
        using var job = MpiJob.Omni(2, _work, null, Train("nccl", 2, "--backend", "nccl"));
        Assert.Equal(2, job.Wait(Limit));
        Assert.Contains("NCCL works on CUDA tensors", job.Error);
        Assert.Equal(1, CountOf(job.Error, "NCCL works on CUDA tensors"));
    }

    internal static int CountOf(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;
}
