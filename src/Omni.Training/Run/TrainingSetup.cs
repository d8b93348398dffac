using System.Collections.Immutable;
using Omni.Algebra.Registries;
using Omni.Algebra.Rewards;
using Omni.Effects.Prompts;
using Omni.Training.Options;
using static TorchSharp.torch;

namespace Omni.Training.Run;

/// <summary>Everything a training run needs.</summary>
public sealed record TrainingSetup
{
    /// <summary>The model being trained.</summary>
    public required Policy Policy { get; init; }

    /// <summary>The training prompts: embeddings table with texts (rows are sampled epoch by epoch).</summary>
    public required PromptEmbeddings Prompts { get; init; }

    /// <summary>Scores a batch of decoded images; called per rollout chunk as soon as it is decoded (overlapping the next chunk).</summary>
    public required Func<RewardBatch, CancellationToken, Task<RewardEvaluation>> Reward { get; init; }

    /// <summary>Final latents → images (B, 3, H, W) in [0, 1]; null when the architecture has no decoder (rewards then score <see cref="RewardBatch.Latents"/>).</summary>
    public required Func<Tensor, Tensor>? Decode { get; init; }

    /// <summary>Training options.</summary>
    public TrainingOptions Options { get; init; } = new();

    /// <summary>Folder for checkpoints, metrics and artifacts.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Event receivers (metrics log, console progress, plots, grids).</summary>
    public ImmutableArray<ITrainingObserver> Observers { get; init; } = [];

    /// <summary>Losses and advantage estimators.</summary>
    public ObjectiveRegistry Objectives { get; init; } = ObjectiveRegistry.Default;

    /// <summary>Continue from the run folder's latest checkpoint when there is one.</summary>
    public bool Resume { get; init; } = true;
}
