using Omni.Models.Sd3;
using Omni.Shapes.Model;

namespace Omni.Shapes.Pretraining;

/// <summary>
/// Everything that determines a pretraining run of the bundled shapes model. Two runs with equal options produce
/// the same weights, and a run resumed from its checkpoint continues exactly as if it had not stopped.
/// </summary>
public sealed record ShapesPretrainingOptions
{
    /// <summary>Where the final pipeline folder is written.</summary>
    public required string OutputFolder { get; init; }
    /// <summary>Where the resumable checkpoint lives (weights, optimizer state, step); null: <c>OutputFolder + ".checkpoint"</c>.</summary>
    public string? CheckpointFolder { get; init; }
    /// <summary>The seed of the initial weights, the data and the noise.</summary>
    public long Seed { get; init; }
    /// <summary>Optimizer steps (the default took 29 min 11 s on one libtorch thread of a busy 2-core machine; docs/shapes-model.md).</summary>
    public int Steps { get; init; } = 6000;
    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 48;
    /// <summary>Peak learning rate of AdamW.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up steps; afterwards the rate follows a cosine down to <see cref="FinalLearningRateShare"/> of the peak.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>The learning rate at the last step as a share of the peak.</summary>
    public double FinalLearningRateShare { get; init; } = 0.1;
    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Gradient-norm clipping threshold; ≤ 0 disables it.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Probability that a sample's prompt is replaced by the empty prompt (teaches the unconditional model for CFG).</summary>
    public double TextDropout { get; init; } = 0.1;
    /// <summary>
    /// Probability that an image is paired with the caption of another, random training prompt (from
    /// <see cref="CaptionNoiseStart"/> on). The bundled model's last third is trained on such noisy pairs, as models
    /// further trained on web alt text are: sampled without guidance it then often ignores its prompt, which is what
    /// classifier-free guidance, or RL fine-tuning, corrects.
    /// </summary>
    public double CaptionNoise { get; init; } = 0.8;
    /// <summary>
    /// The first step whose captions are noisy (<see cref="CaptionNoise"/>); the steps before it see only true captions.
    /// Clean captions first teach the text pathway quickly; the noisy tail then teaches the model that a caption is
    /// right only part of the time, as further training on web alt text does.
    /// </summary>
    public int CaptionNoiseStart { get; init; } = 4000;
    /// <summary>
    /// What the loss compares: the predicted clean image with the true one (the default, which drew crisp icons within
    /// 1000 steps), or the velocity it implies with the flow's.
    /// </summary>
    public PretrainingLoss Loss { get; init; } = PretrainingLoss.CleanImage;
    /// <summary>Mean of the logit-normal σ distribution (SD3's training density).</summary>
    public double LogitMean { get; init; }
    /// <summary>Standard deviation of the logit-normal σ distribution.</summary>
    public double LogitStd { get; init; } = 1.0;
    /// <summary>Steps between checkpoints; ≤ 0 writes only the final one.</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Steps between pipeline snapshots (<c>OutputFolder + "-step{N}"</c>) for picking an earlier model; ≤ 0 writes none.</summary>
    public int SnapshotEvery { get; init; }
    /// <summary>Steps between progress reports.</summary>
    public int ReportEvery { get; init; } = 10;
    /// <summary>Continue from the checkpoint when one exists.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>Where the model trains (null: the CPU). Data and noise are drawn on the CPU and moved, so a step's inputs
    /// are the same on every device.</summary>
    public TorchSharp.torch.Device? Device { get; init; }
    /// <summary>The text encoder's configuration.</summary>
    public ShapesTextEncoderConfig TextEncoder { get; init; } = new();
    /// <summary>The denoiser's configuration.</summary>
    public Sd3Config Denoiser { get; init; } = ShapesDenoiser.Tiny();

    /// <summary>The checkpoint folder in use.</summary>
    public string CheckpointPath => CheckpointFolder ?? OutputFolder.TrimEnd('/', '\\') + ".checkpoint";

    /// <summary>Every broken rule at once; empty when the options are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(OutputFolder)) problems.Add("The output folder is empty.");
        if (Steps < 1) problems.Add($"steps must be positive, got {Steps}.");
        if (BatchSize < 1) problems.Add($"batch size must be positive, got {BatchSize}.");
        if (!(LearningRate > 0)) problems.Add($"learning rate must be positive, got {LearningRate}.");
        if (WarmupSteps < 0) problems.Add($"warm-up steps must be non-negative, got {WarmupSteps}.");
        if (FinalLearningRateShare is < 0 or > 1) problems.Add($"the final learning-rate share must be in [0, 1], got {FinalLearningRateShare}.");
        if (WeightDecay < 0) problems.Add($"weight decay must be non-negative, got {WeightDecay}.");
        if (TextDropout is < 0 or > 1) problems.Add($"text dropout must be in [0, 1], got {TextDropout}.");
        if (CaptionNoise is < 0 or >= 1) problems.Add($"caption noise must be in [0, 1), got {CaptionNoise}.");
        if (CaptionNoiseStart < 0) problems.Add($"the first noisy-caption step must be non-negative, got {CaptionNoiseStart}.");
        if (!(LogitStd > 0)) problems.Add($"the logit-normal std must be positive, got {LogitStd}.");
        if (Denoiser.JointAttentionDim != TextEncoder.HiddenSize)
            problems.Add($"the denoiser's joint_attention_dim ({Denoiser.JointAttentionDim}) must equal the text encoder's hidden_size ({TextEncoder.HiddenSize}).");
        if (Denoiser.PooledProjectionDim != TextEncoder.ProjectionDim)
            problems.Add($"the denoiser's pooled_projection_dim ({Denoiser.PooledProjectionDim}) must equal the text encoder's projection_dim ({TextEncoder.ProjectionDim}).");
        problems.AddRange(TextEncoder.Problems());
        return problems;
    }

    /// <summary>The caption noise of step <paramref name="step"/> (0-based): none before <see cref="CaptionNoiseStart"/>, <see cref="CaptionNoise"/> from it on.</summary>
    public double CaptionNoiseAt(int step) => step < CaptionNoiseStart ? 0 : CaptionNoise;

    /// <summary>The learning rate of step <paramref name="step"/> (0-based): linear warm-up, then cosine decay.</summary>
    public double LearningRateAt(int step)
    {
        if (step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        var progress = Steps <= WarmupSteps ? 1.0 : (step - WarmupSteps) / (double)Math.Max(1, Steps - WarmupSteps - 1);
        var share = FinalLearningRateShare + (1 - FinalLearningRateShare) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
        return LearningRate * share;
    }
}
