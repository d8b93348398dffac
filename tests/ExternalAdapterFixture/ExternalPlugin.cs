using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Objectives;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;

namespace Omni.Tests.ExternalAdapterFixture;

/// <summary>Registers ("ExternalTestPipeline", "flow_grpo") and a loss "external_loss", as a third-party package would.</summary>
public sealed class ExternalPlugin : IOmniPlugin
{
    /// <summary>The architecture this plugin adds.</summary>
    public const string Architecture = "ExternalTestPipeline";

    /// <inheritdoc />
    public AdapterRegistries Register(AdapterRegistries registries)
    {
        var adapter = new TrainingAdapter
        {
            Name = "ExternalTestAdapter",
            SetTimesteps = (_, config) => TimestepRequest.Steps(config.Pipeline.NumInferenceSteps),
            PrepareModelInputs = (_, _, request) => Right<Omni.Algebra.Errors.OmniError, (ModelInputs, ModelInputs?)>(
                (ModelInputs.Empty.With("hidden_states", request.CurrentLatent).With("timestep", request.CurrentTimesteps), null)),
            ForwardAndSamplePreviousStep = (_, context) =>
                TrajectoryStep.SamplePreviousStep(context.Schedule, context.Config, context.MicroBatch, context.Step, context.Module.Forward(context.Positive)),
        };
        return registries.Register(new AdapterKey(Architecture, "flow_grpo"), adapter) with
        {
            Objectives = registries.Objectives.WithLoss(FlowGrpoLoss.Create("external_loss")),
        };
    }
}
