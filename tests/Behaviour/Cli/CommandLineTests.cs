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
    public void Ctrl_C_stops_after_a_step_with_a_checkpoint_and_the_same_command_resumes()
    {
        var model = TinyModel();
        var run = Path.Combine(_work, "run");
        string[] args = ["train", "--model", model, "--run", run, "--steps", "40",
                         "--set", "training:PromptsPerStep=2", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=4"];
        using (var first = new OmniProcess(_work, args))
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
        Assert.InRange(stoppedAt, 2, 39);

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
    }
}
