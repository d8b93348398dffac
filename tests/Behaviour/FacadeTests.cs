using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Facade.DependencyInjection;
using Omni.Facade.Pipelines;
using Omni.Tests.Behaviour.Support;

namespace Omni.Tests.Behaviour;

/// <summary>The fluent builder and the dependency-injection wiring.</summary>
public sealed class FacadeTests
{
    [Fact]
    public void The_builder_reads_top_to_bottom_and_applies_every_choice()
    {
        using var folder = new TestModelFolder();
        var pipeline = OmniPipeline.FromFolder(folder.Path)
            .WithAlgorithm("mix_grpo")
            .WithSde(SdeType.Cps, noiseLevel: 0.8)
            .WithSteps(6)
            .WithSdeWindow(2, (0, 4))
            .WithAdapter(TinyAdapter.Architecture, "mix_grpo", TinyAdapter.Training, TinyAdapter.Rollout)
            .Build();
        Assert.Equal(new AdapterKey("TinyTestPipeline", "mix_grpo"), pipeline.Config.Key);
        Assert.Equal(SdeType.Cps, pipeline.Config.Sde.SdeType);
        Assert.Equal(0.8, pipeline.Config.Sde.NoiseLevel);
        Assert.Equal(6, pipeline.Schedule.NumInferenceSteps);
        Assert.Equal(3.0, pipeline.Schedule.Config.Shift);
        Assert.True(pipeline.RolloutAdapter.IsSome);
    }

    [Fact]
    public void A_build_reports_every_problem_at_once()
    {
        using var folder = new TestModelFolder(schedulerConfig: "{\"time_shift_type\": \"cosine\"}");
        var exception = Assert.Throws<OmniException>(() => OmniPipeline.FromFolder(folder.Path).WithSteps(0).WithSize(100, 64).Build());
        Assert.Contains(exception.Errors, e => e.Message.Contains("num_inference_steps"));
        Assert.Contains(exception.Errors, e => e.Message.Contains("height = 100"));
        Assert.Contains(exception.Errors, e => e.Message.Contains("time_shift_type"));
    }

    [Fact]
    public void AddOmni_binds_validates_and_builds_the_pipeline()
    {
        using var folder = new TestModelFolder();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["actor_rollout_ref:model:path"] = folder.Path,
            ["actor_rollout_ref:model:pipeline:num_inference_steps"] = "5",
        }).Build();
        using var provider = new ServiceCollection()
            .AddOmni(configuration, r => r.Register(new AdapterKey(TinyAdapter.Architecture, "flow_grpo"), TinyAdapter.Training, TinyAdapter.Rollout))
            .BuildServiceProvider();
        var pipeline = provider.GetRequiredService<OmniPipeline>();
        Assert.Equal(5, pipeline.Schedule.NumInferenceSteps);
        Assert.Equal("TinyTestAdapter", pipeline.Training.Name);
    }

    [Fact]
    public void AddOmni_builds_the_pipeline_with_the_containers_logger_factory()
    {
        using var folder = new TestModelFolder();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["actor_rollout_ref:model:path"] = folder.Path,
        }).Build();
        var logs = new CapturedLogs();
        using var provider = new ServiceCollection()
            .AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(logs)
            .AddOmni(configuration, r => r.Register(new AdapterKey(TinyAdapter.Architecture, "flow_grpo"), TinyAdapter.Training, TinyAdapter.Rollout))
            .BuildServiceProvider();
        _ = provider.GetRequiredService<OmniPipeline>();
        Assert.Contains(logs.Entries, e => e.Category == "Omni.Facade.Pipelines" && e.Message.Contains("adapter TinyTestAdapter"));
    }

    [Fact]
    public void AddOmni_fails_with_every_configuration_problem()
    {
        using var folder = new TestModelFolder();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["actor_rollout_ref:model:path"] = folder.Path,
            ["actor_rollout_ref:model:pipeline:num_inference_steps"] = "0",
            ["actor_rollout_ref:model:algo:sde_type"] = "ode",
        }).Build();
        using var provider = new ServiceCollection().AddOmni(configuration).BuildServiceProvider();
        var exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<OmniModelOptions>>().Value);
        Assert.Contains(exception.Failures, f => f.Contains("num_inference_steps"));
        Assert.Contains(exception.Failures, f => f.Contains("sde_type"));
    }
}
