using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Schedules;
using static LanguageExt.Prelude;
using static TorchSharp.torch;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>
/// The model of the <c>trajectories</c> suite, <c>v = −0.3·x + σ·A + 0.1·tanh(x)</c> with <c>A = linspace(−0.5, 0.5, last
/// dim)</c>, as an <see cref="IDenoiser"/> behind an ordinary adapter pair, so that the reference trajectories are compared
/// with the loop users run (<see cref="RolloutAdapter.FromTraining(TrainingAdapter, Func{RolloutContext, long[]}, Func{Tensor, Tensor}?, bool, Func{Tensor, Either{OmniError, Tensor}}?)"/>,
/// <see cref="FlowRollout"/>) and the training path (<see cref="PipelineHelpers.RecomputeStep"/>). σ is the schedule's
/// sigma at each sample's timestep, found as the trainer finds it.
/// </summary>
public sealed class AnalyticVelocity(SchedulerState schedule, long lastDim) : IDenoiser
{
    /// <summary>The formula as the manifest spells it (a reference set with another velocity must fail, not pass by luck).</summary>
    public const string Formula = "v = -0.3*x + sigma*A + 0.1*tanh(x), A = linspace(-0.5, 0.5, last_dim)";

    /// <summary>The registry architecture of the analytic pipeline.</summary>
    public const string Architecture = "AnalyticVelocityPipeline";

    /// <inheritdoc />
    public Tensor Forward(ModelInputs inputs)
    {
        var x = inputs.Tensor("hidden_states");
        var timesteps = inputs.Tensor("timestep").to(ScalarType.Float32).cpu().data<float>().ToArray();
        var sigmas = TimestepIndex.OfEach(schedule, timesteps).OrThrow().Select(i => schedule.Sigmas[i]).ToArray();
        var sigma = tensor(sigmas, ScalarType.Float32, x.device).reshape([x.shape[0], .. Enumerable.Repeat(1L, (int)x.dim() - 1)]);
        var a = linspace(-0.5, 0.5, lastDim, ScalarType.Float32, x.device);
        return -0.3 * x + sigma * a + 0.1 * x.tanh();
    }

    /// <summary>
    /// The training adapter: the case's <c>set_timesteps</c>, the latent and its timesteps as the only model arguments
    /// (the velocity takes no prompt), the standard forward-and-score.
    /// </summary>
    public static TrainingAdapter Training(TimestepRequest setTimesteps) => new()
    {
        Name = "AnalyticVelocity",
        SetTimesteps = (_, _) => setTimesteps,
        PrepareModelInputs = (_, _, request) => Right<OmniError, (ModelInputs, ModelInputs?)>(
            (ModelInputs.Empty.With("hidden_states", request.CurrentLatent).With("timestep", request.CurrentTimesteps), null)),
        ForwardAndSamplePreviousStep = TrajectoryStep.ForwardAndSample,
    };
}
