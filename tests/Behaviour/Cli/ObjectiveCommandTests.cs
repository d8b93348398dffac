using System.Text.Json;
using Omni.Effects.Random;
using Omni.Shapes.Pipeline;
using Omni.Tests.Behaviour.ShapesModel;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Cli;

/// <summary>
/// <c>omni train</c> with every objective of the registry on the shapes model, chosen by the reference's keys from the command
/// line or a JSON file; distillation against the bundled model as teacher; bad combinations refused (exit 2) before any work.
/// </summary>
public sealed class ObjectiveCommandTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("omni-objectives-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    private static readonly string[] Small =
    [
        "--set", "training:PromptsPerStep=2", "--set", "training:GroupSize=2", "--set", "training:MicroBatchSize=4", "--set", "omni:evaluate=false",
    ];

    private string TinyModel()
    {
        var folder = Path.Combine(_work, "tiny-model");
        if (Directory.Exists(folder)) return folder;
        using var pipeline = TinyShapes.Create(seed: 3);
        ShapesPipelineFolder.Save(pipeline, folder);
        return folder;
    }

    private static List<Dictionary<string, JsonElement>> Metrics(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!).ToList();

    [Theory]
    [InlineData("flow_dppo", "actor/kl_mask_fraction")]
    [InlineData("dpo", "actor/dpo_loss")]
    [InlineData("diffusion_nft", "actor/policy_loss")]
    public void Each_objective_trains_the_shapes_model_from_the_command_line(string algorithm, string metric)
    {
        var run = Path.Combine(_work, algorithm);
        var (code, output, error) = OmniProcess.Run(_work, ["train", "--model", TinyModel(), "--run", run, "--steps", "2",
            "--set", $"actor_rollout_ref:model:algorithm={algorithm}", .. Small]);
        Assert.True(code == 0, $"exit {code}. stdout:\n{output}\nstderr:\n{error}");
        Assert.Contains($"omni train: {algorithm}", output);
        Assert.Contains("not evaluated", output);
        var metrics = Metrics(run);
        Assert.Equal(2, metrics.Count);
        Assert.All(metrics, m => Assert.True(m.ContainsKey(metric), $"{metric} missing from {string.Join(", ", m.Keys)}"));
        Assert.All(metrics, m => Assert.Equal(0, m["skipped"].GetDouble()));
    }

    /// <summary>
    /// The objective comparison's way of stopping: a run that reaches <c>omni:time_budget_s</c> stops after that step and is
    /// a completed run — exit 0, evaluated, summary.json with the budget and the steps done — not an interruption.
    /// </summary>
    [Fact]
    public void A_time_budget_stops_training_then_evaluates_and_writes_the_summary()
    {
        var run = Path.Combine(_work, "budget");
        var (code, output, error) = OmniProcess.Run(_work, ["train", "--model", TinyModel(), "--run", run, "--steps", "100000", .. Small,
            "--set", "omni:time_budget_s=0.5", "--set", "omni:evaluate=true", "--set", "omni:heldout_seeds=1", "--set", "training:SampleGridEvery=0"]);
        Assert.True(code == 0, $"exit {code}. stdout:\n{output}\nstderr:\n{error}");
        Assert.Contains("time budget of 0.5 s reached after step", output);
        Assert.Contains("held-out reward after:", output);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal(0.5, summary.RootElement.GetProperty("time_budget_s").GetDouble());
        var steps = summary.RootElement.GetProperty("steps").GetInt32();
        Assert.InRange(steps, 1, 99_999);
        Assert.Equal(steps, Metrics(run).Count);
        Assert.True(Directory.Exists(Path.Combine(run, "final-model")), "the budget-stopped run saved no final model");
    }

    [Fact]
    public void A_json_config_chooses_the_objective_and_its_settings_under_the_reference_keys()
    {
        var config = Path.Combine(_work, "nft.json");
        File.WriteAllText(config, """
            { "actor_rollout_ref": { "model": { "algorithm": "diffusion_nft" },
                                     "actor": { "diffusion_loss": { "mix_beta": 0.2, "ref_kl_coef": 0.0 } } },
              "algorithm": { "adv_mode": "positive_only", "timestep_fraction": 0.2 } }
            """);
        var run = Path.Combine(_work, "json-run");
        var (code, output, error) = OmniProcess.Run(_work, ["train", "--model", TinyModel(), "--run", run, "--steps", "1", "--config", config, .. Small,
            "--set", "omni:evaluate=true", "--set", "omni:heldout_seeds=1"]);
        Assert.True(code == 0, $"exit {code}. stdout:\n{output}\nstderr:\n{error}");
        Assert.Matches(@"change: [+-]?\d\.\d{3} absolute \(95% CI [+-]?\d\.\d{3} to [+-]?\d\.\d{3}, paired over 32 samples\)", output);
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))))
            Assert.Equal("diffusion_nft", summary.RootElement.GetProperty("loss").GetString());
        using var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json")));
        var training = saved.RootElement.GetProperty("training");
        Assert.Equal(0.2, training.GetProperty("MixBeta").GetDouble());
        Assert.Equal("PositiveOnly", training.GetProperty("AdvantageMode").GetString());
        Assert.Equal(2, Metrics(run)[0]["actor/train_timesteps"].GetDouble());
    }

    [Fact]
    public void Distillation_against_the_bundled_model_lowers_the_distillation_loss()
    {
        var bundled = Path.Combine(TinyShapes.RepositoryRoot(), "models", "omni-shapes-tiny");
        var student = Path.Combine(_work, "student");
        using (var pipeline = ShapesPipelineFolder.Load(bundled).Match(p => p, e => throw new Exception(e.Message)))
        {
            // A student the teacher disagrees with: the bundled weights, perturbed.
            var noise = NoiseSource.Seeded(1);
            using (no_grad())
                foreach (var p in pipeline.Transformer.parameters().Where(p => p.dim() > 1))
                    p.add_(noise.Draw(p.shape) * (Perturbation * p.std().item<float>()));
            ShapesPipelineFolder.Save(pipeline, student);
        }
        foreach (var (loss, metric) in new[] { ("distill_kl", "actor/distill_kl_loss"), ("distill_fm_mse", "actor/distill_fm_mse_loss") })
        {
            var run = Path.Combine(_work, loss);
            var (code, output, error) = OmniProcess.Run(_work, ["train", "--model", student, "--run", run, "--steps", "4",
                "--set", $"actor_rollout_ref:model:algorithm={loss}", "--set", $"distillation:teacher_models:teacher_model:model_path={bundled}",
                "--set", "training:LearningRate=1e-3", .. Small]);
            Assert.True(code == 0, $"{loss}: exit {code}. stdout:\n{output}\nstderr:\n{error}");
            Assert.Contains($"teacher {bundled}", output);
            var values = Metrics(run).Select(m => m[metric].GetDouble()).ToArray();
            Assert.True(values[^1] < 0.8 * values[0], $"{loss}: {metric} should fall, got {string.Join(", ", values.Select(v => v.ToString("G4")))}");
        }
    }

    // Each weight matrix moves by this many of its standard deviations. The clean-image model of issue 16 shrugs off 0.3
    // (distill_kl's loss stayed at its step-to-step noise, about 7e-5, over four steps); 1.0 gives the teacher something
    // to correct.
    private const float Perturbation = 1.0f;

    [Theory]
    [InlineData("dpo with groups of one", "GroupSize", "actor_rollout_ref:model:algorithm=dpo", "training:GroupSize=1")]
    [InlineData("distillation without a teacher", "no teacher is configured", "actor_rollout_ref:model:algorithm=distill_kl")]
    [InlineData("a teacher without distillation", "no distillation loss is active", "distillation:teacher_models:teacher_model:model_path=.")]
    [InlineData("a misspelt loss key", "dpo_betta", "actor_rollout_ref:actor:diffusion_loss:dpo_betta=100")]
    [InlineData("an unknown loss", "Supported modes are", "actor_rollout_ref:actor:diffusion_loss:loss_mode=ppo")]
    [InlineData("an unknown algorithm", "No diffusion model registered", "actor_rollout_ref:model:algorithm=ppo")]
    [InlineData("a bad adv_mode", "adv_mode", "algorithm:adv_mode=sometimes")]
    [InlineData("contradicting keys", "contradicts", "actor_rollout_ref:actor:diffusion_loss:dpo_beta=100", "training:DpoBeta=50")]
    [InlineData("the reverse-SDE KL with DPO", "UseKl", "actor_rollout_ref:model:algorithm=dpo", "actor_rollout_ref:actor:use_kl_loss=true")]
    public void A_bad_combination_is_exit_2_before_any_work(string what, string expected, params string[] settings)
    {
        var run = Path.Combine(_work, "bad");
        var args = new List<string> { "train", "--model", TinyModel(), "--run", run };
        foreach (var s in settings) args.AddRange(["--set", s]);
        var (code, _, error) = OmniProcess.Run(_work, [.. args]);
        Assert.True(code == 2, $"{what}: exit {code}: {error}");
        Assert.Contains(expected, error);
        Assert.False(File.Exists(Path.Combine(run, "before.png")), $"{what}: work started before the refusal");
    }

    [Fact]
    public void Bad_objective_settings_and_combinations_are_reported_together_with_every_other_problem()
    {
        var run = Path.Combine(_work, "refused");
        var (code, output, error) = OmniProcess.Run(_work, "train", "--model", TinyModel(), "--run", run, "--steps", "-3",
            "--set", "actor_rollout_ref:model:algorithm=dpo", "--set", "training:GroupSize=1",
            "--set", "actor_rollout_ref:actor:diffusion_loss:dpo_beta=lots", "--set", "algorithm:adv_mode=sometimes",
            "--set", "actor_rollout_ref:actor:ppo_epochs=0", "--set", "omni:heldout_seeds=0", "--set", "omni:evaluate=maybe",
            "--set", "omni:time_budget_s=-1", "--set", "distillation:enabled=true", "--lora", Path.Combine(_work, "no-such-adapter"));
        Assert.True(code == 2, $"exit {code}: {error}");
        foreach (var problem in new[]
                 {
                     "training:Steps must be ≥ 1, got -3", "pairs the best and the worst sample", "dpo_beta' must be a number, got 'lots'",
                     "adv_mode' must be one of", "InnerEpochs must be ≥ 1, got 0", "omni:heldout_seeds", "omni:evaluate must be true or false",
                     "omni:time_budget_s must be a positive number", "distillation:enabled is true but no teacher is set",
                     "no-such-adapter' does not exist",
                 })
            Assert.Contains(problem, error);
        Assert.DoesNotContain("held-out reward", output);
        Assert.False(Directory.Exists(run), "a refused run must not create its folder");
    }

    [Fact]
    public void On_a_diffusers_folder_objective_problems_are_reported_with_the_settings_before_any_weights_load()
    {
        var prompts = Path.Combine(_work, "sd3-prompts.safetensors");
        using (var embeddings = new Omni.Effects.Prompts.PromptEmbeddings(ones(2, 7, 32), null, null, null,
                   System.Collections.Immutable.ImmutableDictionary<string, Tensor>.Empty.Add("pooled_prompt_embeds", ones(2, 64)), ["a", "b"]))
            embeddings.Save(prompts);
        var run = Path.Combine(_work, "sd3-refused");
        var (code, _, error) = OmniProcess.Run(_work, "train", "--model", Omni.Tests.Behaviour.Support.VendoredFixtures.Pipeline("sd3_tiny_pipe"),
            "--prompts", prompts, "--run", run, "--steps", "-3", "--reward", "jpeg_compressibility",
            "--set", "actor_rollout_ref:model:algorithm=dpo", "--set", "training:GroupSize=1",
            "--set", "distillation:teacher_models:teacher_model:model_path=" + Path.Combine(_work, "no-such-teacher"));
        Assert.True(code == 2, $"exit {code}: {error}");
        foreach (var problem in new[] { "training:Steps must be ≥ 1, got -3", "pairs the best and the worst sample", "no-such-teacher' does not exist" })
            Assert.Contains(problem, error);
        Assert.False(Directory.Exists(run), "a refused run must not create its folder");
    }
}
