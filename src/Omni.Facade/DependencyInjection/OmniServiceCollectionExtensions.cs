using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Facade.Configuration;
using Omni.Facade.Pipelines;

namespace Omni.Facade.DependencyInjection;

/// <summary>The bound model configuration, or the problems that kept it from binding.</summary>
public sealed class OmniModelOptions
{
    /// <summary>The validated configuration (null when <see cref="Problems"/> is not empty).</summary>
    public DiffusionModelConfig? Model { get; set; }

    /// <summary>Every problem found while binding and validating.</summary>
    public IReadOnlyList<OmniError> Problems { get; set; } = [];
}

/// <summary>Wires Omni into Microsoft.Extensions.DependencyInjection.</summary>
public static class OmniServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IOptions{OmniModelOptions}"/> bound from <paramref name="configuration"/>'s
    /// <c>actor_rollout_ref:model</c> section (validated on start: one failure lists every problem), the
    /// <see cref="AdapterRegistries"/> (built-in objectives and architectures plus <paramref name="registries"/>, if given) and an
    /// <see cref="OmniPipeline"/> singleton built from both, reporting through the container's <c>ILoggerFactory</c> when it
    /// has one (<c>services.AddLogging(…)</c>).
    /// </summary>
    public static IServiceCollection AddOmni(this IServiceCollection services, IConfiguration configuration,
                                             Func<AdapterRegistries, AdapterRegistries>? registries = null)
    {
        services.AddOptions<OmniModelOptions>()
            .Configure(options => ModelConfigBinding.Bind(configuration).Match(
                Succ: model => options.Model = model,
                Fail: problems => options.Problems = problems.ToList()))
            .Validate(options => options.Problems.Count == 0 && options.Model is not null,
                      "The Omni model configuration is invalid; see OmniModelOptions.Problems.")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OmniModelOptions>, ProblemReporter>();
        services.AddSingleton(_ => (registries ?? (r => r))(Omni.Models.BuiltInAdapters.Registries));
        services.AddSingleton(provider =>
        {
            var model = provider.GetRequiredService<IOptions<OmniModelOptions>>().Value.Model!;
            var loggers = provider.GetService<Microsoft.Extensions.Logging.ILoggerFactory>() ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
            return OmniPipelineBuilder.For(model).WithRegistries(provider.GetRequiredService<AdapterRegistries>()).WithLogging(loggers).Build();
        });
        return services;
    }

    // Reports each binding problem as its own failure message, so OptionsValidationException lists them all.
    private sealed class ProblemReporter : IValidateOptions<OmniModelOptions>
    {
        public ValidateOptionsResult Validate(string? name, OmniModelOptions options) =>
            options.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Problems.Select(p => p.Message));
    }
}
