using Omni.Algebra.Rewards;
using Omni.Algebra.Errors;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Reporting;
using Omni.Training.Observers;
using Omni.Tests.Behaviour.Support;

namespace Omni.Tests.Behaviour.Training;

public sealed class FacadeTrainingTests
{
    private static OmniTrainingBuilder Builder(TrainingFixture fixture, string runDirectory) =>
        OmniTraining.From(OmniPipeline.FromFolder(fixture.Pipeline.Config.Path)
                .WithAlgorithm("flow_grpo").WithSde(Omni.Algebra.Sde.SdeType.Sde, 0.7).WithSteps(6)
                .WithSize(TinyPolicy.Side, TinyPolicy.Side).WithConfig(c => c with { VaeScaleFactor = 1 })
                .WithAdapter(TinyAdapter.Architecture, "flow_grpo", TinyAdapter.Training, TinyPolicy.Rollout))
            .WithModule(fixture.Model)
            .WithDecoder(latents => latents.add(1).div(2).clamp(0, 1))
            .FullFineTuning()
            .WithPrompts(fixture.Prompts)
            .WithReward(TrainingFixture.Redness)
            .WithOptions(TrainingFixture.Quick(4) with { CheckpointEvery = 2, SampleGridEvery = 2 })
            .WriteTo(runDirectory);

    [Fact]
    public async Task A_run_writes_metrics_plots_grids_and_an_export_and_resumes_without_duplicate_lines()
    {
        var fixture = new TrainingFixture();
        var run = fixture.RunDirectory;
        try
        {
            using (var training = Builder(fixture, run).WithOptions(TrainingFixture.Quick(2) with { CheckpointEvery = 2, SampleGridEvery = 2 }).Build())
            {
                await training.RunAsync();
                Assert.True(File.Exists(training.Export(Path.Combine(run, "export"))));
            }
            var extended = new TrainingFixture();
            using (var training = Builder(extended, run).Build())
            {
                Assert.Equal(2, training.Trainer.NextStep);
                await training.RunAsync();
            }
            var records = MetricsLog.Read(Path.Combine(run, "metrics.jsonl"));
            Assert.Equal([0L, 1, 2, 3], records.Select(r => r.Step));
            Assert.All(records, r => Assert.True(r.Values.ContainsKey("reward/mean")));
            // One chart per plotted metric the log holds, named after it ('/' is not allowed in a file name).
            foreach (var chart in new[] { "reward_mean.png", "actor_grad_norm.png", "actor_pg_clipfrac.png" })
            {
                var png = Omni.Effects.Imaging.ImageCodecs.DecodePng(File.ReadAllBytes(Path.Combine(run, "plots", chart)));
                Assert.True(png.Width > 100 && png.Height > 100, $"{chart} is {png.Width}×{png.Height}");
            }
            Assert.True(File.Exists(Path.Combine(run, "samples", "step-000000.png")));
            Assert.True(File.Exists(Path.Combine(run, "samples", "step-000002.png")));
            // The run's configuration is structured JSON a user can read back: enums by name, SDE settings as fields.
            using (var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))))
            {
                var sde = config.RootElement.GetProperty("model").GetProperty("Sde");
                Assert.Equal(System.Text.Json.JsonValueKind.Number, sde.GetProperty("NoiseLevel").ValueKind);
                Assert.Equal("Sde", sde.GetProperty("SdeType").GetString());
                Assert.Equal("Full", config.RootElement.GetProperty("training").GetProperty("Window").GetString());
            }
            extended.Model.Dispose();
        }
        finally
        {
            fixture.Dispose();
        }
    }

    [Fact]
    public void Build_lists_every_missing_piece()
    {
        using var fixture = new TrainingFixture();
        var builder = Builder(fixture, fixture.RunDirectory) with { Prompts = null, Rewards = [] };
        var error = Assert.Throws<OmniException>(() => builder.WithOptions(o => o with { GroupSize = 0 }).Build());
        Assert.Contains("WithPrompts", error.Message);
        Assert.Contains("WithReward", error.Message);
        Assert.Contains("GroupSize", error.Message);
    }

    [Fact]
    public async Task An_adapter_without_a_decoder_trains_on_latent_rewards_and_nothing_is_decoded()
    {
        using var fixture = new TrainingFixture();
        var seen = new List<(int Images, long[]? Latents)>();
        var latentMean = new RewardFunction("latent_mean", (batch, _) =>
        {
            lock (seen) seen.Add((batch.Images.Length, batch.Latents?.shape));
            return Task.FromResult(Enumerable.Range(0, batch.Count).Select(i => batch.Latents![i].mean().item<float>()).ToArray());
        });
        var adapter = TinyAdapter.Training with { BuildDecoder = _ => Omni.Algebra.Adapters.Decoding.None };
        using var run = OmniTraining.From(OmniPipeline.FromFolder(fixture.Pipeline.Config.Path)
                .WithAlgorithm("flow_grpo").WithSde(Omni.Algebra.Sde.SdeType.Sde, 0.7).WithSteps(6)
                .WithSize(TinyPolicy.Side, TinyPolicy.Side).WithConfig(c => c with { VaeScaleFactor = 1 })
                .WithAdapter(TinyAdapter.Architecture, "flow_grpo", adapter, TinyPolicy.Rollout))
            .WithModule(fixture.Model)
            .FullFineTuning()
            .WithPrompts(fixture.Prompts)
            .WithReward(latentMean)
            .WithOptions(TrainingFixture.Quick(1))
            .WriteTo(fixture.RunDirectory)
            .Build();
        var summary = await run.RunAsync();

        Assert.Equal(1, summary.StepsCompleted);
        Assert.NotEmpty(seen);
        Assert.All(seen, s => Assert.Equal(0, s.Images));
        Assert.All(seen, s => Assert.Equal(new long[] { 3, TinyPolicy.Side, TinyPolicy.Side }, s.Latents![1..]));
        // The run's config.json says what the latent shape came from.
        var model = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.RunDirectory, "config.json")))!["model"]!;
        Assert.Equal(1, model["VaeScaleFactor"]!.GetValue<int>());
        Assert.Null(model["ExternalAssembly"]);
    }

    [Fact]
    public async Task The_run_reports_through_the_given_logger_factory()
    {
        using var fixture = new TrainingFixture();
        var logs = new CapturedLogs();
        using (var run = Builder(fixture, fixture.RunDirectory).WithOptions(TrainingFixture.Quick(2) with { CheckpointEvery = 2 }).WithLogging(logs).Build())
            await run.RunAsync();
        var entries = logs.Entries.ToList();
        Assert.Contains(entries, e => e.Category == "Omni.Facade.Pipelines" && e.Message.Contains("adapter TinyTestAdapter"));
        Assert.Contains(entries, e => e.Category == "Omni.Facade.Training" && e.Message.Contains("full fine-tuning"));
        Assert.Equal(2, entries.Count(e => e.Category == LoggingObserver.ProgressCategory && e.Message.StartsWith("Step ")));
        Assert.Contains(entries, e => e.Category == LoggingObserver.RunCategory && e.Message.StartsWith("Checkpoint after step 2"));
        Assert.Contains(entries, e => e.Category == LoggingObserver.RunCategory && e.Message.StartsWith("Finished 2 steps"));
    }

    [Fact]
    public async Task WithObjective_and_WithTeacher_choose_the_flow_and_its_inputs()
    {
        using var fixture = new TrainingFixture();
        using var teacher = new TinyPolicy(TrainingFixture.PromptWidth, 9);
        using var training = Builder(fixture, fixture.RunDirectory)
            .WithObjective(Objective.DistillFlowMatchingMse, o => o with { Steps = 1 })
            .WithTeacher(teacher)
            .Build();
        Assert.Equal("distill_fm_mse", training.Trainer.Objectives.Loss.Name);
        Assert.Same(teacher, training.Policy.Teacher);
        await training.RunAsync();
    }

    [Fact]
    public void An_objective_that_needs_a_reference_is_refused_before_any_weights_load()
    {
        using var fixture = new TrainingFixture();
        var nft = Assert.Throws<OmniException>(() => Builder(fixture, fixture.RunDirectory)
            .WithObjective(Objective.DiffusionNft, o => o with { RefKlCoefficient = 0.01 }).Build());
        Assert.Contains("ref_kl_coef", nft.Message);
        var dpo = Assert.Throws<OmniException>(() => Builder(fixture, fixture.RunDirectory).WithObjective(Objective.Dpo).Build());
        Assert.Contains("reference", dpo.Message);
        var teacher = Assert.Throws<OmniException>(() => Builder(fixture, fixture.RunDirectory)
            .WithObjective(Objective.DistillKl).WithTeacher(Path.Combine(fixture.RunDirectory, "no-such-teacher")).Build());
        Assert.Contains("no-such-teacher", teacher.Message);
        Assert.False(Directory.Exists(fixture.RunDirectory), "nothing is written before the checks pass");
    }

    [Fact]
    public async Task A_refused_resume_leaves_the_run_folder_as_it_was()
    {
        using var fixture = new TrainingFixture();
        using (var training = Builder(fixture, fixture.RunDirectory).WithOptions(TrainingFixture.Quick(1)).Build())
            await training.RunAsync();
        var config = Path.Combine(fixture.RunDirectory, "config.json");
        var recorded = File.ReadAllText(config);
        var refused = Builder(fixture, fixture.RunDirectory).WithOptions(TrainingFixture.Quick(2) with { ClipRatio = 0.3 });
        var error = Assert.Throws<OmniException>(() => refused.Validate());
        Assert.Contains("Cannot resume", error.Message);
        Assert.Contains("ClipRatio was 0.2", error.Message);
        Assert.Throws<OmniException>(() => refused.Build());
        Assert.Equal(recorded, File.ReadAllText(config));
    }

    [Fact]
    public void A_build_that_fails_after_loading_the_model_frees_it()
    {
        var run = Directory.CreateTempSubdirectory("omni-failed-build-").FullName;
        try
        {
            using var prompts = new Omni.Effects.Prompts.PromptEmbeddings(TorchSharp.torch.zeros(2, 7, 32), null, null, null,
                System.Collections.Immutable.ImmutableDictionary<string, TorchSharp.torch.Tensor>.Empty.Add("pooled_prompt_embeds", TorchSharp.torch.zeros(2, 64)), ["a", "b"]);
            var builder = OmniTraining.FromFolder(VendoredFixtures.Pipeline("sd3_tiny_pipe"))
                .WithPrompts(prompts).WithReward(TrainingFixture.Redness).WithDecoder(latents => latents)
                .WithLora(rank: 2, alpha: 2, targets: ["no_such_layer"]).WithoutDefaultObservers().WriteTo(run);
            static long Residue(Action action)
            {
                var before = TorchSharp.DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
                action();
                return TorchSharp.DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount - before;
            }
            // What loading the transformer and disposing it leaves behind (a buffer TorchSharp does not free with its module)…
            var loadedAndDisposed = Residue(() => ((TorchSharp.torch.nn.Module)OmniPipeline.FromFolder(VendoredFixtures.Pipeline("sd3_tiny_pipe")).Build().LoadDenoiser()).Dispose());
            // …is all a build that fails after loading it may leave: it disposes the module it loaded.
            var failedBuild = Residue(() => Assert.Contains("no_such_layer", Assert.Throws<ArgumentException>(() => builder.Build()).Message));
            Assert.Equal(loadedAndDisposed, failedBuild);
            Assert.False(File.Exists(Path.Combine(run, "config.json")));
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }
}
