using LanguageExt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Diffusers;
using Omni.Effects.Plugins;
using static LanguageExt.Prelude;

namespace Omni.Facade.Pipelines;

/// <summary>
/// Fluent, immutable configuration of an <see cref="OmniPipeline"/>: every <c>With…</c> returns a new builder, and
/// <see cref="Build"/> reads the model folder, loads any external assembly, resolves the adapters and builds the
/// schedule — throwing one <see cref="OmniException"/> that lists every problem it found.
/// </summary>
public sealed record OmniPipelineBuilder
{
    private OmniPipelineBuilder(DiffusionModelConfig template, bool architectureGiven)
        => (Template, ArchitectureGiven) = (template, architectureGiven);

    /// <summary>The configuration so far (its architecture is read from the folder at <see cref="Build"/> unless set).</summary>
    public DiffusionModelConfig Template { get; init; }

    private bool ArchitectureGiven { get; init; }

    /// <summary>The registries to start from: the built-in objectives and architecture adapters by default.</summary>
    public AdapterRegistries Registries { get; init; } = Omni.Models.BuiltInAdapters.Registries;

    /// <summary>Where the build reports what it loaded (external assemblies, the adapter); nothing by default.</summary>
    public ILoggerFactory Loggers { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Reports through <paramref name="loggers"/>.</summary>
    public OmniPipelineBuilder WithLogging(ILoggerFactory loggers) => this with { Loggers = loggers ?? throw new ArgumentNullException(nameof(loggers)) };

    private Seq<Func<AdapterRegistries, AdapterRegistries>> Registrations { get; init; } = Seq<Func<AdapterRegistries, AdapterRegistries>>();

    /// <summary>A builder for the diffusers pipeline folder <paramref name="folder"/>.</summary>
    public static OmniPipelineBuilder For(string folder) => new(new DiffusionModelConfig { Path = folder, Architecture = "" }, false);

    /// <summary>A builder that starts from a complete configuration (e.g. one bound from <c>IConfiguration</c>).</summary>
    public static OmniPipelineBuilder For(DiffusionModelConfig config) => new(config, !string.IsNullOrWhiteSpace(config.Architecture));

    /// <summary>Chooses the algorithm (<c>flow_grpo</c>, <c>mix_grpo</c>, <c>dance_grpo</c>, …).</summary>
    public OmniPipelineBuilder WithAlgorithm(string algorithm) => this with { Template = Template with { Algorithm = algorithm } };

    /// <summary>Overrides the architecture instead of reading <c>model_index.json</c>.</summary>
    public OmniPipelineBuilder WithArchitecture(string architecture) =>
        this with { Template = Template with { Architecture = architecture }, ArchitectureGiven = true };

    /// <summary>Chooses the SDE sampler and its noise level η.</summary>
    public OmniPipelineBuilder WithSde(SdeType type, double noiseLevel) =>
        this with { Template = Template with { Sde = Template.Sde with { SdeType = type, NoiseLevel = noiseLevel } } };

    /// <summary>Trains only a window of <paramref name="size"/> steps whose start is drawn from <c>[range.Start, range.End − size]</c>.</summary>
    public OmniPipelineBuilder WithSdeWindow(int size, (int Start, int End)? range = null) =>
        this with { Template = Template with { Sde = Template.Sde with { WindowSize = size, WindowRange = range } } };

    /// <summary>Sets the number of denoising steps.</summary>
    public OmniPipelineBuilder WithSteps(int numInferenceSteps) =>
        this with { Template = Template with { Pipeline = Template.Pipeline with { NumInferenceSteps = numInferenceSteps } } };

    /// <summary>Sets the image size in pixels.</summary>
    public OmniPipelineBuilder WithSize(int height, int width) =>
        this with { Template = Template with { Pipeline = Template.Pipeline with { Height = height, Width = width } } };

    /// <summary>Sets the guidance scales (standard CFG and Qwen-style true CFG).</summary>
    public OmniPipelineBuilder WithGuidance(double? guidanceScale, double trueCfgScale = 1.0) =>
        this with { Template = Template with { Pipeline = Template.Pipeline with { GuidanceScale = guidanceScale, TrueCfgScale = trueCfgScale } } };

    /// <summary>Loads adapters from an external assembly (path or name) at <see cref="Build"/>.</summary>
    public OmniPipelineBuilder WithExternalAssembly(string assembly) => this with { Template = Template with { ExternalAssembly = assembly } };

    /// <summary>Replaces the whole configuration template (the folder path stays unless the template sets another).</summary>
    public OmniPipelineBuilder WithConfig(Func<DiffusionModelConfig, DiffusionModelConfig> change) => this with { Template = change(Template) };

    /// <summary>Registers a custom training adapter (and optionally its rollout) under (architecture, algorithm); applied after plugins, so it wins.</summary>
    public OmniPipelineBuilder WithAdapter(string architecture, string algorithm, TrainingAdapter training, RolloutAdapter? rollout = null) =>
        this with { Registrations = Registrations.Add(r => r.Register(new AdapterKey(architecture, algorithm), training, rollout)) };

    /// <summary>Starts from other registries than the built-ins.</summary>
    public OmniPipelineBuilder WithRegistries(AdapterRegistries registries) => this with { Registries = registries };

    /// <summary>Validates everything and builds the pipeline; throws <see cref="OmniException"/> listing every problem.</summary>
    public OmniPipeline Build() => TryBuild().OrThrow();

    /// <summary>Validates everything and builds the pipeline, or returns every problem.</summary>
    public Validation<OmniError, OmniPipeline> TryBuild()
    {
        var folder = Template.Path;
        var architecture = ArchitectureGiven
            ? Success<OmniError, string>(Template.Architecture)
            : ModelFolder.ReadArchitecture(folder).ToValidation();
        var scheduler = ModelFolder.ReadSchedulerConfig(folder);
        // The rules are checked even when the folder is unreadable, so one build reports every problem.
        var rules = ConfigRules.Validate(Template with { Architecture = architecture.Match(Succ: a => a, Fail: _ => "(unknown)") });
        return (architecture, rules, scheduler).Apply((a, c, s) => (c with { Architecture = a }, s)).Bind(pair =>
        {
            var (valid, schedulerConfig) = pair;
            var log = Loggers.CreateLogger("Omni.Facade.Pipelines");
            var registries = valid.ExternalAssembly is { } assembly
                ? PluginLoader.Load(Registries, assembly).Map(loaded =>
                  {
                      log.LogInformation("External assembly {Assembly} registered [{Keys}]", assembly,
                          string.Join(", ", loaded.Training.Keys.Except(Registries.Training.Keys)));
                      return loaded;
                  }).ToValidation()
                : Success<OmniError, AdapterRegistries>(Registries);
            return registries.Map(r => Registrations.Fold(r, (acc, register) => register(acc)))
                .Bind(r => r.Training.Get(valid.Key).MapLeft(e => Unregistered(e, valid, r)).ToValidation().Bind(training =>
                    (valid.Lora.Enabled ? training.ValidateLora(valid) : Success<OmniError, DiffusionModelConfig>(valid))
                    .Bind(_ => training.Schedule(schedulerConfig, valid))
                    .Map(schedule =>
                    {
                        log.LogInformation("{Key}: adapter {Adapter}, {Steps} steps, {Sde} η={NoiseLevel}", valid.Key, training.Name,
                                           schedule.NumInferenceSteps, valid.Sde.SdeType, valid.Sde.NoiseLevel);
                        return new OmniPipeline(valid, r, training, r.Rollout.Peek(valid.Key), schedule);
                    })));
        });
    }

    // The registry's own message, told from where the key came: the folder's model_index.json or the caller, the nearest
    // registered name, and the external-assembly route only when no plugin was loaded.
    private OmniError Unregistered(OmniError error, DiffusionModelConfig config, AdapterRegistries registries)
    {
        if (error.Kind != ErrorKind.NotSupported) return error;
        var keys = registries.Training.Keys.ToList();
        var source = ArchitectureGiven ? "as configured" : $"from _class_name in {Path.Combine(config.Path, ModelFolder.ModelIndex)}";
        var text = $"No diffusion model registered for (architecture='{config.Architecture}' {source}, algorithm='{config.Algorithm}').";
        var sameArchitecture = keys.Where(k => k.Architecture == config.Architecture).Select(k => k.Algorithm).ToList();
        if (sameArchitecture.Count > 0)
            text += $" '{config.Architecture}' is registered for the algorithms [{string.Join(", ", sameArchitecture)}]"
                    + (Omni.Algebra.Registries.NearestName.Of(config.Algorithm, sameArchitecture) is { } algorithm ? $"; did you mean '{algorithm}'?" : ".");
        else if (Omni.Algebra.Registries.NearestName.Of(config.Architecture, keys.Select(k => k.Architecture).Distinct()) is { } nearest)
            text += $" Did you mean '{nearest}'?";
        text += $" Registered: [{string.Join(", ", keys)}].";
        text += config.ExternalAssembly is { } assembly
            ? $" The external assembly '{assembly}' was loaded; none of its plugins registered this key."
            : " An architecture Omni does not ship comes from a plugin: set external_assembly (configuration key "
              + "actor_rollout_ref:model:external_assembly) to the assembly whose IOmniPlugin registers it, or call WithAdapter(...).";
        return error with { Message = text };
    }
}
