using System.Collections.Immutable;
using Omni.Algebra.Rewards;
using Omni.Effects.Prompts;
using Omni.Facade.Pipelines;
using Omni.Tests.Behaviour.Support;
using Omni.Training.Options;
using Omni.Training.Run;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Training;

/// <summary>A whole training setup around <see cref="TinyPolicy"/>: 4 prompts, a red-is-good reward, a temporary run folder.</summary>
public sealed class TrainingFixture : IDisposable
{
    public const int PromptWidth = 3;
    private readonly TestModelFolder _folder = new();

    public TrainingFixture(long modelSeed = 5)
    {
        Pipeline = OmniPipeline.FromFolder(_folder.Path)
            .WithAlgorithm("flow_grpo")
            .WithSde(Omni.Algebra.Sde.SdeType.Sde, noiseLevel: 0.7)
            .WithSteps(6)
            .WithSize(TinyPolicy.Side, TinyPolicy.Side)
            .WithConfig(c => c with { VaeScaleFactor = 1 })
            .WithAdapter(TinyAdapter.Architecture, "flow_grpo", TinyAdapter.Training, TinyPolicy.Rollout)
            .Build();
        Model = new TinyPolicy(PromptWidth, modelSeed).OnTestDevice();
        RunDirectory = Path.Combine(Path.GetTempPath(), "omni-train-" + Guid.NewGuid().ToString("N"));
        var embeds = Omni.Effects.Random.NoiseSource.Seeded(17).Draw([4, 5, PromptWidth]);
        Prompts = new PromptEmbeddings(embeds, null, null, null, ImmutableDictionary<string, Tensor>.Empty, ["p0", "p1", "p2", "p3"]).To(TestDevice.Device);
    }

    public OmniPipeline Pipeline { get; }

    public TinyPolicy Model { get; }

    public string RunDirectory { get; }

    public PromptEmbeddings Prompts { get; }

    /// <summary>Reward = mean red minus mean blue of the decoded image, in [−1, 1].</summary>
    public static RewardFunction Redness { get; } = RewardFunction.PerSample("redness", (image, _, _) =>
    {
        var span = image.Pixels.Span;
        double red = 0, blue = 0;
        for (var i = 0; i < span.Length; i += 3) { red += span[i]; blue += span[i + 2]; }
        return (float)((red - blue) / (255.0 * span.Length / 3));
    });

    public static Func<RewardBatch, CancellationToken, Task<RewardEvaluation>> Score(RewardFunction reward) => async (batch, ct) =>
    {
        var scores = await reward.Score(batch, ct);
        return new RewardEvaluation(scores, ImmutableDictionary<string, float[]>.Empty.Add(reward.Name, scores));
    };

    public TrainingSetup Setup(TrainingOptions options, RewardFunction? reward = null, params ITrainingObserver[] observers) => new()
    {
        Policy = new Policy { Module = Model, Config = Pipeline.Config, Registries = Pipeline.Registries, Schedule = Pipeline.Schedule },
        Prompts = Prompts,
        Reward = Score(reward ?? Redness),
        Decode = latents => latents.add(1).div(2).clamp(0, 1),
        Options = options,
        RunDirectory = RunDirectory,
        Observers = [.. observers],
    };

    public static TrainingOptions Quick(int steps = 4) => new()
    {
        Steps = steps, PromptsPerStep = 2, GroupSize = 4, MicroBatchSize = 4, LearningRate = 3e-2, CheckpointEvery = 0,
        SampleGridEvery = 0, ClipRatio = 0.2, Seed = 11,
    };

    public void Dispose()
    {
        Model.Dispose();
        _folder.Dispose();
        if (Directory.Exists(RunDirectory)) Directory.Delete(RunDirectory, true);
    }
}

/// <summary>Collects step reports; optionally throws at a chosen step to simulate a crash.</summary>
public sealed class RecordingObserver(int? crashAtStep = null) : ITrainingObserver
{
    public List<StepReport> Reports { get; } = [];

    public List<int> Checkpoints { get; } = [];

    public void StepCompleted(StepReport report, StepSamples samples)
    {
        Reports.Add(report);
        if (report.Step == crashAtStep) throw new SimulatedCrash();
    }

    public void CheckpointSaved(int step, string folder) => Checkpoints.Add(step);
}

public sealed class SimulatedCrash : Exception;
