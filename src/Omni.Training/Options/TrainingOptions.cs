using Omni.Algebra.Objectives;
using Omni.Algebra.Training;

namespace Omni.Training.Options;

/// <summary>
/// Every knob of a FlowGRPO-family run. Defaults follow VeRL-Omni's trainer configuration where it has one; property names
/// bind from the <c>training</c> configuration section (<c>{"training": {"Steps": 50}}</c> in JSON,
/// <c>OMNI_training__Steps=50</c> in the environment, <c>--set training:Steps=50</c> on the command line), see
/// <c>Omni.Facade.Configuration.TrainingOptionsBinding</c>.
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

    /// <summary>
    /// Loss mode (<c>actor.diffusion_loss.loss_mode</c>); null takes the algorithm's recipe (flow_grpo → flow_grpo, mix_grpo →
    /// flow_grpo, grpo_guard → grpo_guard, flow_dppo → flow_dppo, dpo → dpo, diffusion_nft → diffusion_nft, distill_kl →
    /// distill_kl, distill_fm_mse → distill_fm_mse). The loss decides the training flow (docs/algorithms.md).
    /// </summary>
    public string? LossMode { get; init; }

    /// <summary>PPO clip range ε (<c>clip_ratio</c>).</summary>
    public double ClipRatio { get; init; } = 1e-4;

    /// <summary>Advantage clamp (<c>adv_clip_max</c>); DiffusionNFT's reward-probability scale and loss multiplier.</summary>
    public double AdvantageClipMax { get; init; } = 5.0;

    /// <summary>Flow-DPPO's trust region (<c>kl_mask_threshold</c>): the Gaussian KL to the old policy at which a sample may be masked.</summary>
    public double KlMaskThreshold { get; init; } = 1e-5;

    /// <summary>Flow-DPPO (<c>add_kl_coefficient</c>): scale the squared mean shift by the step's variance (true) or by ½.</summary>
    public bool AddKlCoefficient { get; init; } = true;

    /// <summary>Diffusion-DPO's β (<c>dpo_beta</c>; reference default 2000, its online recipe 100).</summary>
    public double DpoBeta { get; init; } = 2000.0;

    /// <summary>DiffusionNFT's β (<c>mix_beta</c>; reference default 0.5, its recipe 0.1).</summary>
    public double MixBeta { get; init; } = 0.5;

    /// <summary>DiffusionNFT's floor of the adaptive weight (<c>adaptive_weight_min</c>).</summary>
    public double AdaptiveWeightMin { get; init; } = 1e-5;

    /// <summary>DiffusionNFT's weight of the squared distance to the reference prediction (<c>ref_kl_coef</c>); &gt; 0 needs a reference.</summary>
    public double RefKlCoefficient { get; init; }

    /// <summary>How DiffusionNFT turns advantages into reward probabilities (<c>algorithm.adv_mode</c>).</summary>
    public AdvantageMode AdvantageMode { get; init; } = AdvantageMode.Continuous;

    /// <summary>
    /// DiffusionNFT's old-policy refresh (<c>algorithm.old_policy_decay_schedule</c>): <c>copy</c> (the old policy becomes the
    /// current one after every refresh), <c>linear_to_0_5</c> or <c>delayed_linear_to_0_999</c> (an EMA whose decay ramps).
    /// </summary>
    public string OldPolicyDecaySchedule { get; init; } = "copy";

    /// <summary>A fixed EMA decay in [0, 1] for the old policy (<c>algorithm.old_policy_decay</c>); null follows the schedule.</summary>
    public double? OldPolicyDecay { get; init; }

    /// <summary>Refresh the old policy every this many training steps (<c>algorithm.old_policy_update_interval</c>).</summary>
    public int OldPolicyUpdateInterval { get; init; } = 1;

    /// <summary>Add a distillation loss to the main one (<c>actor.use_distill_loss</c>); needs a teacher.</summary>
    public bool UseDistillLoss { get; init; }

    /// <summary>The added distillation loss (<c>actor.distill_loss_mode</c>): <c>distill_kl</c> or <c>distill_fm_mse</c>.</summary>
    public string DistillLossMode { get; init; } = "distill_kl";

    /// <summary>Its weight (<c>actor.distill_loss_coef</c>).</summary>
    public double DistillLossCoefficient { get; init; } = 1.0;

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

    /// <summary>Where the SDE window sits (Full = Flow-GRPO; Random/Progressive = MixGRPO, one window per step; PerSample = the reference's request batching, one window per sample drawn from its generator).</summary>
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

    /// <summary>
    /// The window schedule these options describe (per-sample windows have no per-step schedule: <see cref="WindowSchedule.Full"/>
    /// stands for the envelope they are drawn from).
    /// </summary>
    public WindowSchedule WindowSchedule => Fast || Window is WindowStrategy.Random or WindowStrategy.Progressive
        ? new WindowSchedule(Window == WindowStrategy.Progressive ? WindowStrategy.Progressive : WindowStrategy.Random,
                             WindowSize, WindowRangeStart, WindowRangeEnd, WindowSeed, IterationsPerGroup)
        : WindowSchedule.Full;

    /// <summary>Samples per training step.</summary>
    public int SamplesPerStep => PromptsPerStep * GroupSize;

    /// <summary>The objectives' settings these options describe.</summary>
    public LossSettings LossSettings => new()
    {
        ClipRatio = ClipRatio, AdvantageClipMax = AdvantageClipMax, KlMaskThreshold = KlMaskThreshold, AddKlCoefficient = AddKlCoefficient,
        DpoBeta = DpoBeta, MixBeta = MixBeta, AdaptiveWeightMin = AdaptiveWeightMin, RefKlCoefficient = RefKlCoefficient,
    };
}
