using Omni.Tests.Behaviour.Support;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.ShapesModel;
using Omni.Training.Checkpoints;

namespace Omni.Tests.Behaviour.Cli;

/// <summary>The <c>omni</c> executable: help, exit codes and messages for bad input, Ctrl-C and resume.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("omni-cli-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    private string TinyModel()
    {
        var folder = Path.Combine(_work, "tiny-model");
        using var pipeline = TinyShapes.Create(seed: 3);
        ShapesPipelineFolder.Save(pipeline, folder);
        return folder;
    }

    [Theory]
    [InlineData("train")]
    [InlineData("pretrain")]
    [InlineData("sample")]
    [InlineData("eval")]
    [InlineData("doctor")]
    public void Every_command_has_help(string command)
    {
        var (code, output, _) = OmniProcess.Run(_work, command, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains(command, output);
    }

    [Fact]
    public void Sample_writes_pngs_a_grid_and_the_trajectory_with_log_probs()
    {
        var model = TinyModel();
        var output = Path.Combine(_work, "samples");
        var (code, stdout, error) = OmniProcess.Run(_work, "sample", "--model", model, "--prompt", "two red circles above a blue square",
            "--prompt", "a green triangle", "--seeds", "2", "--out", output, "--noise-level", "0.7", "--trajectory");
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("mean shapes reward", stdout);
        Assert.Equal(4, Directory.GetFiles(output, "0*.png").Length);
        var grid = Omni.Effects.Imaging.ImageCodecs.DecodePng(File.ReadAllBytes(Path.Combine(output, "grid.png")));
        Assert.True(grid.Width > 2 * 32 && grid.Height > 2 * 32, $"grid is {grid.Width}×{grid.Height}");
        using var trajectory = Omni.Effects.Safetensors.SafetensorsFile.Open(Path.Combine(output, "trajectory.safetensors"));
        Assert.Equal(new long[] { 4, 9 }, trajectory.Entries["log_probs"].Shape);
        Assert.Equal(new long[] { 4, 10, 3, 40, 40 }, trajectory.Entries["latents"].Shape);
        using var logProbs = trajectory.Read("log_probs");
        Assert.True(logProbs.isfinite().all().item<bool>(), "log-probs of an η > 0 trajectory must be finite");
        Assert.Contains("a green triangle", trajectory.Metadata["prompts"]);
    }

    [Fact]
    public void Eval_prints_the_held_out_reward_and_rejects_a_bad_prompt_or_folder()
    {
        var model = TinyModel();
        var (code, stdout, error) = OmniProcess.Run(_work, "eval", "--model", model, "--seeds", "1");
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Matches(@"held-out reward \d\.\d{3} \(count", stdout);
        Assert.Contains("32 samples", stdout);

        var badPrompt = OmniProcess.Run(_work, "sample", "--model", model, "--prompt", "four purple hexagons");
        Assert.Equal(2, badPrompt.Code);
        Assert.Contains("four", badPrompt.Error);
        var notShapes = OmniProcess.Run(_work, "eval", "--model", _work);
        Assert.Equal(2, notShapes.Code);
        Assert.Contains("not a shapes pipeline", notShapes.Error);
    }

    [Fact]
    public void A_missing_model_folder_is_one_clear_message_and_exit_code_2()
    {
        var (code, _, error) = OmniProcess.Run(_work, "train", "--model", Path.Combine(_work, "nope"));
        Assert.Equal(2, code);
        Assert.Contains("does not exist", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Invalid_training_values_are_reported_with_their_names()
    {
        var model = TinyModel();
        var (code, _, error) = OmniProcess.Run(_work, "train", "--model", model, "--set", "training:GroupSize=0", "--set", "training:TimestepFraction=2");
        Assert.Equal(2, code);
        Assert.Contains("GroupSize", error);
        Assert.Contains("TimestepFraction", error);
    }

    [Fact]
    public void An_unknown_configuration_key_or_bad_value_is_bad_input()
    {
        var model = TinyModel();
        var unknown = OmniProcess.Run(_work, "train", "--model", model, "--set", "training:Stepz=3");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("Stepz", unknown.Error);
        var badValue = OmniProcess.Run(_work, "train", "--model", model, "--set", "training:Steps=many");
        Assert.Equal(2, badValue.Code);
        Assert.Contains("many", badValue.Error);
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once_before_any_work()
    {
        var model = TinyModel();
        var run = Path.Combine(_work, "refused");
        var (code, output, error) = OmniProcess.Run(_work, "train", "--model", model, "--run", run, "--steps", "-3",
            "--set", "training:ClipRatio=abc", "--set", "omni:lora_rank=x", "--reward", "nonsense");
        Assert.Equal(2, code);
        foreach (var problem in new[] { "training:Steps must be ≥ 1, got -3", "training:ClipRatio must be a number, got 'abc'", "omni:lora_rank", "Unknown reward 'nonsense'" })
            Assert.Contains(problem, error);
        Assert.DoesNotContain("held-out reward", output);
        Assert.False(Directory.Exists(run), "a refused run must not create its folder");
    }

    [Fact]
    public void A_malformed_model_index_is_bad_input_that_names_the_file_and_the_position()
    {
        var model = TinyModel();
        var index = Path.Combine(model, "model_index.json");
        File.WriteAllText(index, "{\n  \"_class_name\": \"OmniShapesPipeline\",\n  \"scheduler\": [\"diffusers\" \"FlowMatchEulerDiscreteScheduler\"]\n}\n");
        foreach (var command in new[] { new[] { "train" }, ["eval"], ["sample", "--prompt", "a red circle"] })
        {
            var (code, _, error) = OmniProcess.Run(_work, [.. command, "--model", model]);
            Assert.True(code == 2, $"{command[0]}: exit {code}: {error}");
            Assert.Contains($"'{index}' is not valid JSON at line 3, column", error);
            Assert.DoesNotContain("unexpected failure", error);
        }
        var config = Path.Combine(_work, "settings.json");
        File.WriteAllText(config, "{ \"training\": { \"Steps\": 3 }");
        var badConfig = OmniProcess.Run(_work, "train", "--config", config);
        Assert.Equal(2, badConfig.Code);
        Assert.Contains($"'{config}' is not valid JSON at line 1, column", badConfig.Error);
    }

    [Fact]
    public void A_run_in_which_no_update_happened_fails_with_the_reason()
    {
        // The tiny SD3 folder of the fixtures trains through the generic path (no held-out evaluation to wait for).
        var prompts = Path.Combine(_work, "sd3-prompts.safetensors");
        using (var embeddings = new Omni.Effects.Prompts.PromptEmbeddings(TorchSharp.torch.ones(2, 7, 32), null, null, null,
                   System.Collections.Immutable.ImmutableDictionary<string, TorchSharp.torch.Tensor>.Empty.Add("pooled_prompt_embeds", TorchSharp.torch.ones(2, 64)), ["a", "b"]))
            embeddings.Save(prompts);
        var run = Path.Combine(_work, "unscored");
        // Port 1 is privileged: no test server can listen there, so the connection is refused at once.
        const string scorer = "http://127.0.0.1:1/score";
        var (code, output, error) = OmniProcess.Run(_work, "train", "--model", Omni.Tests.Behaviour.Support.VendoredFixtures.Pipeline("sd3_tiny_pipe"),
            "--prompts", prompts, "--run", run, "--steps", "1", "--reward", scorer,
            "--set", "actor_rollout_ref:model:pipeline:num_inference_steps=3", "--set", "actor_rollout_ref:model:pipeline:height=64",
            "--set", "actor_rollout_ref:model:pipeline:width=64", "--set", "training:PromptsPerStep=2", "--set", "training:GroupSize=2",
            "--set", "training:MicroBatchSize=4");
        Assert.True(code == 3, $"exit {code}. stdout:\n{output}\nstderr:\n{error}");
        Assert.Contains("no update happened: the only step it ran skipped its update", error);
        Assert.Contains(scorer, error);
        Assert.False(Directory.Exists(Path.Combine(run, "final")), "nothing was trained, so nothing is exported");
    }

    [Fact]
    public void An_unknown_architecture_is_bad_input()
    {
        var folder = Path.Combine(_work, "other");
        Directory.CreateDirectory(Path.Combine(folder, "scheduler"));
        File.WriteAllText(Path.Combine(folder, "model_index.json"), "{\"_class_name\": \"MysteryPipeline\"}");
        File.WriteAllText(Path.Combine(folder, "scheduler", "scheduler_config.json"), "{\"shift\": 1.0}");
        var prompts = Path.Combine(_work, "prompts.safetensors");
        new Omni.Effects.Prompts.PromptEmbeddings(TorchSharp.torch.zeros(2, 3, 4), null, null, null,
            System.Collections.Immutable.ImmutableDictionary<string, TorchSharp.torch.Tensor>.Empty, ["a", "b"]).Save(prompts);
        var (code, _, error) = OmniProcess.Run(_work, "train", "--model", folder, "--prompts", prompts, "--reward", "jpeg_compressibility");
        Assert.True(code == 2, $"exit code {code}: {error}");
        Assert.Contains("MysteryPipeline", error);
    }

    [Fact]
    public void LoRA_training_exports_diffusers_and_peft_files_that_train_and_sample_load_back()
    {
        var model = TinyModel();
        var run = Path.Combine(_work, "lora-run");
        string[] small = ["--set", "training:PromptsPerStep=2", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=4"];
        var (code, output, error) = OmniProcess.Run(_work, ["train", "--model", model, "--run", run, "--steps", "1", "--set", "omni:lora_rank=2", .. small]);
        Assert.True(code == 0, $"train failed ({code}). stdout:\n{output}\nstderr:\n{error}");
        Assert.Contains("LoRA rank 2, alpha 64", output);   // VeRL-Omni's lora_alpha default where the configuration is silent
        var adapter = Path.Combine(run, "final-lora");
        foreach (var file in new[] { "pytorch_lora_weights.safetensors", "adapter_model.safetensors", "adapter_config.json" })
            Assert.True(File.Exists(Path.Combine(adapter, file)), file);
        Assert.True(File.Exists(Path.Combine(run, "final-model", "model_index.json")));

        (code, output, error) = OmniProcess.Run(_work, ["sample", "--model", model, "--lora", adapter, "--seeds", "1", "-p", "a red circle", "-o", Path.Combine(_work, "lora-samples")]);
        Assert.True(code == 0, $"sample --lora failed ({code}). stdout:\n{output}\nstderr:\n{error}");
        (code, output, error) = OmniProcess.Run(_work, ["train", "--model", model, "--run", Path.Combine(_work, "lora-run-2"), "--steps", "1",
                                                        "--lora", Path.Combine(adapter, "adapter_model.safetensors"), .. small]);
        Assert.True(code == 0, $"train --lora failed ({code}). stdout:\n{output}\nstderr:\n{error}");
        Assert.Contains("LoRA rank 2, alpha 64", output);

        (code, _, error) = OmniProcess.Run(_work, ["sample", "--model", model, "--lora", Path.Combine(_work, "missing.safetensors")]);
        Assert.Equal(2, code);
        Assert.Contains("missing.safetensors", error);
    }

    [Fact]
    public void Ctrl_C_stops_after_a_step_with_a_checkpoint_and_the_same_command_resumes()
    {
        var model = TinyModel();
        var run = Path.Combine(_work, "run");
        // Far more steps than can finish before the interrupt lands: the tiny model does a step in tens of milliseconds, and on
        // a loaded machine the test may see the second metrics line a second late (40 steps once all finished first, exit 0).
        string[] args = ["train", "--model", model, "--run", run, "--steps", "100000",
                         "--set", "training:PromptsPerStep=2", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=4",
                         // One seed per held-out prompt keeps the evaluations before and after short on a busy machine.
                         "--set", "omni:heldout_seeds=1"];
        using (var first = OmniProcess.Interruptible(_work, args))
        {
            var metrics = Path.Combine(run, "metrics.jsonl");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!(File.Exists(metrics) && File.ReadAllLines(metrics).Length >= 2) && DateTime.UtcNow < deadline) Thread.Sleep(200);
            Assert.True(File.Exists(metrics), $"no metrics after 2 minutes. stdout:\n{first.Output}\nstderr:\n{first.Error}");
            first.Interrupt();
            Assert.Equal(130, first.Wait(TimeSpan.FromMinutes(2)));
            Assert.Contains("resume", first.Output + first.Error);
        }
        var checkpoint = TrainingCheckpoint.Latest(run);
        Assert.NotNull(checkpoint);
        var stoppedAt = TrainingCheckpoint.ReadState(checkpoint!).Step;
        Assert.InRange(stoppedAt, 2, 99_999);

        // The same command, with Steps shortened so the resumed part stays quick (allowed: the learning rate is constant).
        var resumed = args.ToArray();
        resumed[6] = (stoppedAt + 2).ToString();
        var (code, output, error) = OmniProcess.Run(_work, resumed);
        Assert.True(code == 0, $"resume failed ({code}). stdout:\n{output}\nstderr:\n{error}");
        Assert.Contains($"Resuming at step {stoppedAt}", output);
        Assert.Contains("held-out reward after", output);
        Assert.True(File.Exists(Path.Combine(run, "before.png")));
        Assert.True(File.Exists(Path.Combine(run, "after.png")));
        Assert.True(File.Exists(Path.Combine(run, "final-model", "model_index.json")));

        // TensorBoard: one event file per session beside metrics.jsonl; every step's reward is there once the
        // second file's events replace the first's from the resume step on (as TensorBoard reads them).
        Assert.Equal(2, Directory.GetFiles(run, "events.out.tfevents.*").Length);
        var rewards = TensorBoardEvents.Scalars(TensorBoardEvents.ReadAll(run), "reward/mean")
            .GroupBy(s => s.Step).ToDictionary(g => g.Key, g => g.Last().Value);
        Assert.Equal(Enumerable.Range(0, stoppedAt + 2).Select(i => (long)i), rewards.Keys.Order());
    }
}
