using Microsoft.Extensions.Configuration;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Sde;
using Omni.Facade.Configuration;
using Omni.Tests.Behaviour.Support;

namespace Omni.Tests.Behaviour;

/// <summary>Binding the model configuration from configuration sources, and one test per validation rule.</summary>
public sealed class ConfigurationTests
{
    private const string Model = "actor_rollout_ref:model:";

    private static IConfiguration Settings(string folder, params (string Key, string? Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(
            new[] { (Key: "path", Value: (string?)folder) }.Concat(settings).Select(p => KeyValuePair.Create(Model + p.Key, p.Value))).Build();

    private static IReadOnlyList<string> Problems(IConfiguration configuration) =>
        ModelConfigBinding.Bind(configuration).Match(Succ: _ => [], Fail: errors => errors.Select(e => e.Message).ToList());

    private static string OnlyProblem(IConfiguration configuration)
    {
        var problems = Problems(configuration);
        Assert.True(problems.Count == 1, "expected exactly one problem, got: " + string.Join(" | ", problems));
        return problems[0];
    }

    [Fact]
    public void Architecture_comes_from_model_index_and_algorithm_defaults_to_flow_grpo()
    {
        using var folder = new TestModelFolder();
        var config = ModelConfigBinding.Bind(Settings(folder.Path)).OrThrow();
        Assert.Equal("TinyTestPipeline", config.Architecture);
        Assert.Equal("flow_grpo", config.Algorithm);
        Assert.Equal(new PipelineSettings(), config.Pipeline);
    }

    [Fact]
    public void Json_then_environment_then_command_line_each_override_the_previous()
    {
        using var folder = new TestModelFolder();
        var json = Path.Combine(folder.Path, "omni.json");
        File.WriteAllText(json, $$"""
            { "actor_rollout_ref": { "model": { "path": {{System.Text.Json.JsonSerializer.Serialize(folder.Path)}}, "algorithm": "mix_grpo",
              "pipeline": { "num_inference_steps": 12, "height": 256, "width": 256 },
              "algo": { "noise_level": 0.8, "sde_type": "cps", "sde_window_size": 2, "sde_window_range": [1, 6] } } } }
            """);
        const string variable = "OMNI_TEST_actor_rollout_ref__model__pipeline__height";
        Environment.SetEnvironmentVariable(variable, "512");
        try
        {
            var configuration = new ConfigurationBuilder()
                .AddJsonFile(json)
                .AddEnvironmentVariables("OMNI_TEST_")
                .AddCommandLine(["--actor_rollout_ref:model:pipeline:num_inference_steps=20"])
                .Build();
            var config = ModelConfigBinding.Bind(configuration).OrThrow();
            Assert.Equal("mix_grpo", config.Algorithm);
            Assert.Equal(20, config.Pipeline.NumInferenceSteps);
            Assert.Equal(512, config.Pipeline.Height);
            Assert.Equal(256, config.Pipeline.Width);
            Assert.Equal(SdeType.Cps, config.Sde.SdeType);
            Assert.Equal(0.8, config.Sde.NoiseLevel);
            Assert.Equal(2, config.Sde.WindowSize);
            Assert.Equal((1, 6), config.Sde.WindowRange);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void A_missing_model_folder_is_reported() =>
        Assert.Contains("does not exist", OnlyProblem(Settings("/nonexistent/omni-model")));

    [Fact]
    public void A_missing_path_is_reported() =>
        Assert.Contains("model.path", string.Join(" ", Problems(new ConfigurationBuilder().Build())));

    [Fact]
    public void A_missing_model_index_is_reported()
    {
        using var folder = new TestModelFolder(modelIndex: null);
        var problem = OnlyProblem(Settings(folder.Path));
        Assert.Contains("model_index.json", problem);
        Assert.Contains("does not exist", problem);
    }

    [Fact]
    public void A_malformed_model_index_is_reported()
    {
        using var folder = new TestModelFolder(modelIndex: "{ not json");
        Assert.Contains("is not valid JSON", OnlyProblem(Settings(folder.Path)));
    }

    [Fact]
    public void A_model_index_without_class_name_is_reported()
    {
        using var folder = new TestModelFolder(modelIndex: "{\"_diffusers_version\": \"0.40.0\"}");
        var problem = OnlyProblem(Settings(folder.Path));
        Assert.Contains("_class_name", problem);
        Assert.Contains("architecture", problem);
    }

    [Fact]
    public void An_explicit_architecture_needs_no_model_index()
    {
        using var folder = new TestModelFolder(modelIndex: null);
        Assert.Equal("Custom", ModelConfigBinding.Bind(Settings(folder.Path, ("architecture", "Custom"))).OrThrow().Architecture);
    }

    [Fact]
    public void An_unknown_sde_type_lists_the_valid_ones()
    {
        using var folder = new TestModelFolder();
        var problem = OnlyProblem(Settings(folder.Path, ("algo:sde_type", "ode")));
        Assert.Contains("model.algo.sde_type", problem);
        Assert.Contains("'sde', 'cps', 'dance_sde'", problem);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public void Non_positive_steps_are_reported(string steps)
    {
        using var folder = new TestModelFolder();
        Assert.Contains("num_inference_steps must be positive", OnlyProblem(Settings(folder.Path, ("pipeline:num_inference_steps", steps))));
    }

    [Fact]
    public void A_non_numeric_value_is_reported_with_its_key()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("model.pipeline.num_inference_steps must be an integer, got 'ten'", OnlyProblem(Settings(folder.Path, ("pipeline:num_inference_steps", "ten"))));
    }

    [Theory]
    [InlineData("height", "500")]
    [InlineData("width", "520")]
    public void A_size_not_divisible_by_twice_the_vae_factor_is_reported(string key, string value)
    {
        using var folder = new TestModelFolder();
        var problem = OnlyProblem(Settings(folder.Path, ($"pipeline:{key}", value)));
        Assert.Contains($"model.pipeline.{key} = {value} is not divisible by 16", problem);
    }

    [Fact]
    public void A_negative_noise_level_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("noise_level must be a non-negative number", OnlyProblem(Settings(folder.Path, ("algo:noise_level", "-0.1"))));
    }

    [Fact]
    public void A_window_larger_than_its_range_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("does not fit sde_window_range [0, 5]", OnlyProblem(Settings(folder.Path, ("algo:sde_window_size", "6"))));
    }

    [Fact]
    public void A_window_range_beyond_the_schedule_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("exceeds num_inference_steps 4", OnlyProblem(Settings(folder.Path,
            ("algo:sde_window_size", "2"), ("pipeline:num_inference_steps", "4"))));
    }

    [Fact]
    public void A_window_range_without_a_size_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("without sde_window_size", OnlyProblem(Settings(folder.Path, ("algo:sde_window_range:0", "0"), ("algo:sde_window_range:1", "3"))));
    }

    [Fact]
    public void A_malformed_window_range_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("must be two integers", OnlyProblem(Settings(folder.Path, ("algo:sde_window_size", "2"), ("algo:sde_window_range", "1,2,3"))));
    }

    [Fact]
    public void A_negative_lora_rank_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("lora_rank must be ≥ 0", OnlyProblem(Settings(folder.Path, ("lora_rank", "-1"))));
    }

    [Fact]
    public void A_non_positive_lora_alpha_is_reported_when_lora_is_on()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("lora_alpha must be positive", OnlyProblem(Settings(folder.Path, ("lora_rank", "8"), ("lora_alpha", "0"))));
    }

    [Fact]
    public void An_unknown_dtype_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("model.dtype 'int8' is not one of: float32, bfloat16, float16", OnlyProblem(Settings(folder.Path, ("dtype", "int8"))));
    }

    [Fact]
    public void A_negative_guidance_scale_is_reported()
    {
        using var folder = new TestModelFolder();
        Assert.Contains("guidance_scale must be a non-negative number", OnlyProblem(Settings(folder.Path, ("pipeline:guidance_scale", "-2"))));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        using var folder = new TestModelFolder();
        var problems = Problems(Settings(folder.Path, ("pipeline:num_inference_steps", "0"), ("pipeline:height", "100"),
            ("algo:sde_type", "ode"), ("dtype", "int8")));
        Assert.Equal(4, problems.Count);
        var exception = Assert.Throws<OmniException>(() => ModelConfigBinding.Bind(Settings(folder.Path, ("pipeline:num_inference_steps", "0"), ("dtype", "int8"))).OrThrow());
        Assert.Equal(2, exception.Errors.Count);
        Assert.Contains("num_inference_steps", exception.Message);
        Assert.Contains("dtype", exception.Message);
    }
}

/// <summary>The reference's objective keys (<c>actor_rollout_ref:actor:diffusion_loss:*</c>, <c>algorithm:*</c>) over the training options.</summary>
public sealed class TrainingConfigBindingTests
{
    private static Microsoft.Extensions.Configuration.IConfiguration Config(params (string Key, string Value)[] values) =>
        new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Every_reference_key_sets_its_option()
    {
        var options = Omni.Facade.Configuration.TrainingConfigBinding.Apply(Config(
            ("actor_rollout_ref:actor:diffusion_loss:loss_mode", "flow_dppo"),
            ("actor_rollout_ref:actor:diffusion_loss:kl_mask_threshold", "0.001"),
            ("actor_rollout_ref:actor:diffusion_loss:add_kl_coefficient", "false"),
            ("actor_rollout_ref:actor:diffusion_loss:dpo_beta", "100"),
            ("actor_rollout_ref:actor:diffusion_loss:mix_beta", "0.1"),
            ("actor_rollout_ref:actor:diffusion_loss:adaptive_weight_min", "0.01"),
            ("actor_rollout_ref:actor:diffusion_loss:ref_kl_coef", "0.0001"),
            ("actor_rollout_ref:actor:diffusion_loss:adv_clip_max", "2"),
            ("actor_rollout_ref:actor:use_distill_loss", "true"),
            ("actor_rollout_ref:actor:distill_loss_coef", "0.5"),
            ("algorithm:adv_mode", "binary"),
            ("algorithm:old_policy_decay_schedule", "delayed_linear_to_0_999"),
            ("algorithm:old_policy_update_interval", "3"),
            ("algorithm:old_policy_decay", "null")), new Omni.Training.Options.TrainingOptions()).OrThrow();
        Assert.Equal("flow_dppo", options.LossMode);
        Assert.Equal(0.001, options.KlMaskThreshold);
        Assert.False(options.AddKlCoefficient);
        Assert.Equal(100, options.DpoBeta);
        Assert.Equal(0.1, options.MixBeta);
        Assert.Equal(0.01, options.AdaptiveWeightMin);
        Assert.Equal(0.0001, options.RefKlCoefficient);
        Assert.Equal(2, options.AdvantageClipMax);
        Assert.True(options.UseDistillLoss);
        Assert.Equal(0.5, options.DistillLossCoefficient);
        Assert.Equal(Omni.Algebra.Objectives.AdvantageMode.Binary, options.AdvantageMode);
        Assert.Equal("delayed_linear_to_0_999", options.OldPolicyDecaySchedule);
        Assert.Equal(3, options.OldPolicyUpdateInterval);
        Assert.Null(options.OldPolicyDecay);
    }

    [Fact]
    public void Training_and_reference_keys_are_bound_and_checked_together()
    {
        var configuration = Config(("training:Steps", "-3"), ("training:OldPolicyDecaySchedule", ""), ("training:LossMode", ""),
            ("actor_rollout_ref:actor:ppo_epochs", "0"), ("actor_rollout_ref:actor:diffusion_loss:dpo_beta", "lots"));
        var (options, problems) = Omni.Facade.Configuration.TrainingOptionsBinding.Read(configuration, "training", new Omni.Training.Options.TrainingOptions());
        var messages = problems.Select(p => p.Message).ToList();
        Assert.Contains("training:Steps must be ≥ 1, got -3.", messages);
        // A name without an "unset" value cannot be emptied; an optional one can.
        Assert.Contains(messages, m => m.StartsWith("training:OldPolicyDecaySchedule must be set", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("LossMode"));
        // The rules run over the reference keys too.
        Assert.Contains(messages, m => m.Contains("InnerEpochs must be ≥ 1, got 0"));
        Assert.Contains(messages, m => m.Contains("dpo_beta' must be a number, got 'lots'"));
        Assert.Equal(4, messages.Count);
        Assert.Equal("copy", options.OldPolicyDecaySchedule);
        Assert.Equal(0, options.InnerEpochs);
    }

    [Fact]
    public void Unknown_keys_bad_values_and_contradictions_are_all_reported()
    {
        var errors = Omni.Facade.Configuration.TrainingConfigBinding.Apply(Config(
                ("actor_rollout_ref:actor:diffusion_loss:mix_betta", "0.1"),
                ("actor_rollout_ref:actor:diffusion_loss:dpo_beta", "lots"),
                ("algorithm:global_std", "false"), ("training:GlobalStd", "true")), new Omni.Training.Options.TrainingOptions())
            .Match(_ => [], e => e.Select(x => x.Message).ToList());
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, m => m.Contains("mix_betta") && m.Contains("mix_beta"));
        Assert.Contains(errors, m => m.Contains("dpo_beta") && m.Contains("lots"));
        Assert.Contains(errors, m => m.Contains("contradicts 'training:GlobalStd'"));
    }
}
