using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Tests.Behaviour.Support;

namespace Omni.Tests.Behaviour;

/// <summary>The registry behaviours the reference's CPU tests assert (VeRL-Omni's pipeline registry tests), in their immutable form.</summary>
public sealed class AdapterRegistryTests
{
    private static readonly AdapterKey TestKey = new("_TestArch_CPU", "flow_grpo");

    private static DiffusionModelConfig Config(string architecture, string algorithm) =>
        new() { Path = "unused", Architecture = architecture, Algorithm = algorithm };

    [Fact]
    public void A_registered_adapter_is_returned_for_a_config_with_its_key()
    {
        var registries = AdapterRegistries.Default.Register(TestKey, TinyAdapter.Training);
        var found = PipelineHelpers.TrainingAdapterFor(registries, Config("_TestArch_CPU", "flow_grpo")).OrThrow();
        Assert.Same(TinyAdapter.Training, found);
    }

    [Fact]
    public void An_unregistered_key_fails_naming_it_listing_every_key_and_the_way_out()
    {
        var registries = AdapterRegistries.Default
            .Register(new AdapterKey("B", "flow_grpo"), TinyAdapter.Training)
            .Register(new AdapterKey("A", "mix_grpo"), TinyAdapter.Training)
            .Register(new AdapterKey("A", "flow_grpo"), TinyAdapter.Training);
        var error = PipelineHelpers.TrainingAdapterFor(registries, Config("Unknown", "flow_grpo")).ErrorOf().IfNone(() => throw new Exception("expected an error"));
        Assert.Contains("No diffusion model registered", error.Message);
        Assert.Contains("(architecture='Unknown', algorithm='flow_grpo')", error.Message);
        Assert.Contains("Registered: [('A', 'flow_grpo'), ('A', 'mix_grpo'), ('B', 'flow_grpo')]", error.Message);
        Assert.Contains("external_assembly", error.Message);
        Assert.Equal("NotImplementedError", error.PythonEquivalent);
    }

    [Fact]
    public void Registering_returns_a_new_registry_and_leaves_the_original_unchanged()
    {
        var empty = AdapterRegistries.Default;
        var registered = empty.Register(TestKey, TinyAdapter.Training, TinyAdapter.Rollout);
        Assert.True(empty.Training.Peek(TestKey).IsNone);
        Assert.True(empty.Rollout.Peek(TestKey).IsNone);
        Assert.True(registered.Training.Peek(TestKey).IsSome);
        Assert.True(registered.Rollout.Peek(TestKey).IsSome);
    }

    [Fact]
    public void Re_registering_a_key_replaces_its_adapter()
    {
        var replacement = TinyAdapter.Training with { Name = "Replacement" };
        var registries = AdapterRegistries.Default.Register(TestKey, TinyAdapter.Training).Register(TestKey, replacement);
        Assert.Same(replacement, registries.Training.Get(TestKey).OrThrow());
        Assert.Single(registries.Training.Keys);
    }

    [Fact]
    public void Peek_returns_an_option_and_never_fails()
    {
        var registries = AdapterRegistries.Default.Register(TestKey, TinyAdapter.Training);
        Assert.True(registries.Training.Peek(new AdapterKey("Nope", "flow_grpo")).IsNone);
        Assert.Same(TinyAdapter.Training, registries.Training.Peek(TestKey).IfNone(() => throw new Exception()));
        Assert.True(registries.Rollout.Peek(TestKey).IsNone, "a rollout lookup is an Option: no rollout adapter was registered");
    }

    [Fact]
    public void Lookup_by_name_works_before_a_configuration_exists()
    {
        var registries = AdapterRegistries.Default.Register(TestKey, TinyAdapter.Training);
        Assert.Same(TinyAdapter.Training, registries.Training.Get("_TestArch_CPU", "flow_grpo").OrThrow());
        Assert.True(registries.Training.Get("_TestArch_CPU", "dpo").IsLeft);
    }

    [Fact]
    public void A_rollout_without_a_registered_rollout_adapter_fails_naming_the_key()
    {
        var error = AdapterRegistries.Default.Rollout.Get(TestKey).ErrorOf().IfNone(() => throw new Exception("expected an error"));
        Assert.Contains("No rollout pipeline registered", error.Message);
        Assert.Contains("'_TestArch_CPU'", error.Message);
    }
}
