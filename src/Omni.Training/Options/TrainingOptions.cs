using Omni.Algebra.Training;

namespace Omni.Training.Options;

/// <summary>
/// Every knob of a FlowGRPO-family run. Defaults follow the reference (spec §6.5–6.8) where it has one; property names bind
/// from configuration (<c>Omni:Training:*</c> in JSON, environment variables or command-line flags).
/// Sampling settings (steps, size, guidance, noise level, SDE type) live in the model's <c>DiffusionModelConfig</c>.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Training steps (each: one rollout batch, one reward pass, one or more optimizer updates).</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Distinct prompts per training step.</summary>
    public int PromptsPerStep { get; init; } = 8;

    /// <summary>Images per prompt (the GRPO group size, <c>rollout.n</c>).</summary>
    public int GroupSize { get; init; } = 4;

    /// <summary>Give every image of a group the same initial noise (flow_grpo's <c>same_latent</c>); SDE noise still differs.</summary>
    public bool SameNoisePerGroup { get; init; }

    /// <summary>The run's seed: prompts, noises, windows and timestep choices all derive from it and the step number.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Samples per forward pass (rollout chunk and training micro-batch).</summary>
    public int MicroBatchSize { get; init; } = 8;

    /// <summary>Passes over each rollout batch (<c>ppo_epochs</c>).</summary>
    public int InnerEpochs { get; init; } = 1;

    /// <summary>Optimizer updates per inner epoch: the batch is split into this many mini-batches (1 = one update per epoch).</summary>
    public int MiniBatchesPerEpoch { get; init; } = 1;

    /// <summary>Share of the recorded steps trained each epoch (<c>timestep_fraction</c>, in (0, 1]).</summary>
    public double TimestepFraction { get; init; } = 1.0;

    /// <summary>Loss mode; null takes the algorithm's recipe (flow_grpo → flow_grpo, mix_grpo → flow_grpo, grpo_guard → grpo_guard).</summary>
    public string? LossMode { get; init; }

    /// <summary>PPO clip range ε (<c>clip_ratio</c>).</summary>
    public double ClipRatio { get; init; } = 1e-4;

    /// <summary>Advantage clamp (<c>adv_clip_max</c>).</summary>
    public double AdvantageClipMax { get; init; } = 5.0;

    /// <summary>Divide advantages by the reward std (false = Dr.GRPO style).</summary>
    public bool NormalizeAdvantageByStd { get; init; } = true;

    /// <summary>Use the batch std rather than each group's std.</summary>
    public bool GlobalStd { get; init; } = true;

    /// <summary>Added to the std before dividing.</summary>
    public double AdvantageEpsilon { get; init; } = 1e-4;

    /// <summary>Add β·KL to the reference policy (LoRA: the same model with adapters disabled).</summary>
    public bool UseKl { get; init; }

    /// <summary>β, the KL weight (<c>kl_loss_coef</c>).</summary>
    public double KlCoefficient { get; init; } = 0.001;

    /// <summary>Recompute old log-probs with the training code path before updating (the reference's old-policy pass), which makes the first ratio exactly 1.</summary>
    public bool RecomputeOldLogProbs { get; init; } = true;

    /// <summary>
    /// Training arithmetic: <c>Float32</c> (default) or <c>Bf16Mixed</c> (<c>bf16-mixed</c>): float32 master weights and
    /// optimizer state, the transformer (and KL reference) computing with bfloat16 weights. Scheduler maths, log-probs,
    /// losses and advantages stay float32, and trajectories are stored in float32.
    /// </summary>
    public Omni.Algebra.Devices.TrainingPrecision Precision { get; init; } = Omni.Algebra.Devices.TrainingPrecision.Float32;

    /// <summary>Peak learning rate (reference default 1e-6; its LoRA recipes use 3e-4).</summary>
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gradient-norm clip (<c>grad_clip</c>); 0 or less disables it.</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Learning-rate curve after warm-up.</summary>
    public LearningRateShape LearningRateSchedule { get; init; } = LearningRateShape.Constant;

    /// <summary>Warm-up length in optimizer updates.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Floor of the decay as a share of the peak rate.</summary>
    public double MinLearningRateRatio { get; init; }

    /// <summary>Exponential moving average of the trained weights (e.g. 0.99); null disables it.</summary>
    public double? EmaDecay { get; init; }

    /// <summary>Where the SDE window sits (Full = Flow-GRPO; Random/Progressive = MixGRPO).</summary>
    public WindowStrategy Window { get; init; } = WindowStrategy.Full;

    /// <summary>Window size in steps (MixGRPO, Flow-GRPO-Fast).</summary>
    public int WindowSize { get; init; } = 2;

    /// <summary>Window envelope start.</summary>
    public int WindowRangeStart { get; init; }

    /// <summary>Window envelope end (exclusive).</summary>
    public int WindowRangeEnd { get; init; } = 5;

    /// <summary>MixGRPO <c>sde_window_seed</c>.</summary>
    public long WindowSeed { get; init; }

    /// <summary>MixGRPO progressive: training steps per window position.</summary>
    public int IterationsPerGroup { get; init; } = 1;

    /// <summary>
    /// Flow-GRPO-Fast: one ODE trajectory per prompt (the group shares its initial noise), branching into SDE for
    /// <see cref="WindowSize"/> steps at a start drawn per training step from the window envelope; only those steps are trained.
    /// </summary>
    public bool Fast { get; init; }

    /// <summary>
    /// Score each rollout chunk on a background task while the next chunk is sampled (default). Off, rewards are scored
    /// inline, so a step runs on one thread (useful for debugging and for per-thread tensor accounting).
    /// </summary>
    public bool OverlapRewards { get; init; } = true;

    /// <summary>Write a checkpoint every this many steps (and always at the end or on cancellation); 0 = only then.</summary>
    public int CheckpointEvery { get; init; } = 10;

    /// <summary>Checkpoints kept on disk (older ones are deleted); at least 1.</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>Write a grid of the step's rollout images every this many steps; 0 disables it.</summary>
    public int SampleGridEvery { get; init; } = 10;

    /// <summary>The window schedule these options describe.</summary>
    public WindowSchedule WindowSchedule => Fast || Window != WindowStrategy.Full
        ? new WindowSchedule(Window == WindowStrategy.Progressive ? WindowStrategy.Progressive : WindowStrategy.Random,
                             WindowSize, WindowRangeStart, WindowRangeEnd, WindowSeed, IterationsPerGroup)
        : WindowSchedule.Full;

    /// <summary>Samples per training step.</summary>
    public int SamplesPerStep => PromptsPerStep * GroupSize;
}
