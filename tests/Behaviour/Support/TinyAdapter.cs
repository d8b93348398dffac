using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;

namespace Omni.Tests.Behaviour.Support;

/// <summary>A test adapter for <see cref="TinyDenoiser"/>: default schedule, raw timesteps, optional CFG.</summary>
public static class TinyAdapter
{
    public const string Architecture = "TinyTestPipeline";
    public const int Sequence = 6;
    public const int Channels = 4;
    public const int PromptWidth = 3;

    public static TrainingAdapter Training { get; } = new()
    {
        Name = "TinyTestAdapter",
        SetTimesteps = (_, config) => TimestepRequest.Steps(config.Pipeline.NumInferenceSteps),
        PrepareModelInputs = (_, _, request) =>
        {
            var positive = ModelInputs.Empty
                .With("hidden_states", request.CurrentLatent)
                .With("timestep", request.CurrentTimesteps)
                .With("encoder_hidden_states", request.PromptEmbeds);
            var negative = request.NegativePromptEmbeds is { } negativeEmbeds ? positive.With("encoder_hidden_states", negativeEmbeds) : null;
            return Right<OmniError, (ModelInputs, ModelInputs?)>((positive, negative));
        },
        Forward = (module, config, positive, negative) =>
            negative is not null && config.Pipeline.GuidanceScale is > 1 and var scale
                ? Guidance.Combine(module.Forward(positive), module.Forward(negative), scale)
                : module.Forward(positive),
        ForwardAndSamplePreviousStep = TrajectoryStep.ForwardAndSample,
    };

    public static RolloutAdapter Rollout { get; } = RolloutAdapter.FromTraining(Training, context => [context.Request.BatchSize, Sequence, Channels]);
}
