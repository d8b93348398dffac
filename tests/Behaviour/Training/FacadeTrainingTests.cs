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
            Assert.True(File.Exists(Path.Combine(run, "plots", "reward_mean.png")) || Directory.GetFiles(Path.Combine(run, "plots"), "reward*.png").Length > 0);
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
}
