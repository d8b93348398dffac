using Omni.Algebra.Adapters;
using Omni.Algebra.Config;
using Omni.Algebra.Errors;
using Omni.Algebra.Rollouts;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// The <c>trajectories</c> suite through the production code: each reference rollout (analytic velocity, per-sample
/// seeded initial and step noise, every step stochastic) is sampled by the registered rollout adapter
/// (<see cref="RolloutAdapter.FromTraining(TrainingAdapter, Func{RolloutContext, long[]}, Func{Tensor, Tensor}?, bool, Func{Tensor, LanguageExt.Either{OmniError, Tensor}}?)"/>
/// over <see cref="FlowRollout"/>: window placement, noise order and model calls as users run them), and every step of
/// the reference's stored trajectory is recomputed through <see cref="PipelineHelpers.RecomputeStep"/>, the trainer's path.
/// </summary>
[ChecksFixture("trajectories")]
public sealed class TrajectoryGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("trajectories");

    public static TheoryData<string> Cases => Suite.Ids(_ => true);

    [Theory, MemberData(nameof(Cases))]
    public void Rollout_and_recomputation_match_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        Assert.Equal(AnalyticVelocity.Formula, c.String("velocity"));
        var shape = c.Longs("shape");
        var training = AnalyticVelocity.Training(ManifestReading.Request(c));
        var config = new DiffusionModelConfig
        {
            Path = "", Architecture = AnalyticVelocity.Architecture,
            Sde = new SdeSettings { SdeType = SdeTypes.Parse(c.String("sde_type")).OrThrow(), NoiseLevel = c.Double("noise_level") },
        };
        var schedule = training.Schedule(ManifestReading.Config(c), config).OrThrow();
        var registries = AdapterRegistries.Default.Register(config.Key, training, RolloutAdapter.FromTraining(training, _ => shape));
        var model = new AnalyticVelocity(schedule, shape[^1]);
        var n = schedule.NumInferenceSteps;

        // The reference's rollouts are stochastic at every step: the window is the whole schedule.
        var request = new RolloutRequest(zeros(shape[0], 1, 1), NoiseSource.PerSample(c.Longs("initial_noise_seeds")),
                                         NoiseSource.PerSample(c.Longs("step_noise_seeds")), new SdeWindow(0, n));
        using var trajectory = PipelineHelpers.Rollout(registries, new RolloutContext(model, schedule, config, request)).OrThrow();
        TensorAssert.Close(trajectory.Latents, c.Output("all_latents"), TensorAssert.Elementwise, id + " all_latents");
        TensorAssert.Close(trajectory.PrevSampleMeans!, c.Output("all_means"), TensorAssert.Elementwise, id + " all_means");
        TensorAssert.Close(trajectory.LogProbs, c.Output("all_log_probs"), TensorAssert.Reduced, id + " all_log_probs");
        TensorAssert.Identical(trajectory.Timesteps, c.Output("all_timesteps"), id + " all_timesteps");

        // Training path: recompute from the reference's stored trajectory, each step located by its stored timesteps.
        var stored = new MicroBatch { AllLatents = c.Output("all_latents"), AllTimesteps = c.Output("all_timesteps"), PromptEmbeds = request.PromptEmbeds };
        var recomputed = Enumerable.Range(0, n)
            .Select(k => PipelineHelpers.RecomputeStep(registries, model, schedule, config, stored, k).OrThrow().LogProb).ToList();
        TensorAssert.Close(stack(recomputed, 1), c.Output("recomputed_log_probs"), TensorAssert.Reduced, id + " recomputed_log_probs");
    });
}
