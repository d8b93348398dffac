using Microsoft.Extensions.Configuration;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Effects.Plugins;
using Omni.Facade.Configuration;
using Omni.Facade.Pipelines;
using Omni.Tests.Behaviour.Support;

namespace Omni.Tests.Behaviour;

/// <summary>
/// Adapters from a separately compiled assembly (tests/ExternalAdapterFixture, copied to plugins/ and never
/// referenced), loaded through the external-assembly setting — the reference's <c>external_lib</c>.
/// </summary>
public sealed class ExternalAssemblyTests
{
    private static readonly string PluginPath = Path.Combine(AppContext.BaseDirectory, "plugins", "Omni.Tests.ExternalAdapterFixture.dll");

    [Fact]
    public void The_plugin_is_not_loaded_until_configured()
    {
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "Omni.Tests.ExternalAdapterFixture"
            && !a.Location.StartsWith(Path.GetDirectoryName(PluginPath)!, StringComparison.Ordinal));
        Assert.True(AdapterRegistries.Default.Training.Peek(new AdapterKey("ExternalTestPipeline", "flow_grpo")).IsNone);
    }

    [Fact]
    public void An_assembly_named_in_the_configuration_registers_its_adapters_and_losses()
    {
        using var folder = new TestModelFolder(modelIndex: "{\"_class_name\": \"ExternalTestPipeline\"}");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["actor_rollout_ref:model:path"] = folder.Path,
            ["actor_rollout_ref:model:external_assembly"] = PluginPath,
        }).Build();
        var config = ModelConfigBinding.Bind(configuration).OrThrow();
        var pipeline = OmniPipelineBuilder.For(config).Build();
        Assert.Equal("ExternalTestAdapter", pipeline.Training.Name);
        Assert.True(pipeline.Registries.Objectives.Losses.Peek("external_loss").IsSome);
        Assert.Equal(config.Pipeline.NumInferenceSteps, pipeline.Schedule.NumInferenceSteps);
    }

    [Fact]
    public void A_missing_assembly_is_a_clear_error()
    {
        var error = PluginLoader.Load(AdapterRegistries.Default, "/nonexistent/Plugin.dll").ErrorOf().IfNone(() => throw new Exception());
        Assert.Contains("Cannot load the external assembly '/nonexistent/Plugin.dll'", error.Message);
    }

    [Fact]
    public void An_assembly_without_plugins_is_a_clear_error()
    {
        var error = PluginLoader.Load(AdapterRegistries.Default, typeof(AdapterRegistries).Assembly.Location).ErrorOf().IfNone(() => throw new Exception());
        Assert.Contains("defines no public IOmniPlugin", error.Message);
    }

    [Fact]
    public void Without_the_assembly_the_key_is_unknown_and_the_error_says_how_to_load_it()
    {
        using var folder = new TestModelFolder(modelIndex: "{\"_class_name\": \"ExternalTestPipeline\"}");
        var exception = Assert.Throws<OmniException>(() => OmniPipeline.FromFolder(folder.Path).Build());
        Assert.Contains("No diffusion model registered for (architecture='ExternalTestPipeline' from _class_name in ", exception.Message);
        Assert.Contains("model_index.json, algorithm='flow_grpo')", exception.Message);
        Assert.Contains("set external_assembly", exception.Message);
    }

    [Fact]
    public void A_misspelt_class_name_with_the_plugin_loaded_suggests_the_registered_name_and_no_plugin_hint()
    {
        using var folder = new TestModelFolder(modelIndex: "{\"_class_name\": \"ExternalTestPipline\"}");
        var exception = Assert.Throws<OmniException>(() => OmniPipeline.FromFolder(folder.Path).WithExternalAssembly(PluginPath).Build());
        Assert.Contains("(architecture='ExternalTestPipline' from _class_name in ", exception.Message);
        Assert.Contains("Did you mean 'ExternalTestPipeline'?", exception.Message);
        Assert.Contains("was loaded; none of its plugins registered this key", exception.Message);
        Assert.DoesNotContain("set external_assembly", exception.Message);
    }

    [Fact]
    public void A_registered_architecture_with_another_algorithm_lists_its_algorithms()
    {
        using var folder = new TestModelFolder(modelIndex: "{\"_class_name\": \"ExternalTestPipeline\"}");
        var exception = Assert.Throws<OmniException>(() =>
            OmniPipeline.FromFolder(folder.Path).WithExternalAssembly(PluginPath).WithAlgorithm("flow_grp").Build());
        Assert.Contains("'ExternalTestPipeline' is registered for the algorithms [flow_grpo]; did you mean 'flow_grpo'?", exception.Message);
    }
}
