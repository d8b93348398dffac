using System.Text.Json;
using LanguageExt;
using Microsoft.Extensions.Configuration;
using Omni.Algebra.Errors;
using Omni.Algebra.Rewards;
using Omni.Algebra.Sde;
using Omni.Algebra.Training;
using Omni.Algebra.Config;
using Omni.Algebra.Devices;
using Omni.Cli.Cli;
using Omni.Cli.Distributed;
using Omni.Facade.Configuration;
using Omni.Facade.Pipelines;
using Omni.Facade.Training;
using Omni.Models;
using Omni.Reporting;
using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;
using Omni.Training.Options;

namespace Omni.Cli.Commands;

/// <summary>
/// The main job: RL fine-tuning of the bundled shapes model with the shapes reward — FlowGRPO by default, any objective of the
/// registry through <c>actor_rollout_ref:model:algorithm</c> (or <c>actor_rollout_ref:actor:diffusion_loss:loss_mode</c>) — with
/// the held-out reward before and after, and before/after grids on the same prompts and seeds.
/// </summary>
public static class ShapesJob
{
    /// <summary>Default training options for the shapes model (docs/performance.md gives the measured time).</summary>
    /// <remarks>
    /// The bundled model mostly fails by ignoring its prompt (its pretraining ended on noisy captions), a choice made in the
    /// first denoising steps. So the SDE explores only there: a MixGRPO window pinned to steps 0–3 of 10 (its range equals
    /// its size), every window step trained, the rest sampled by the ODE as at evaluation. That credits the reward to the
    /// steps that decide it; with the SDE on all steps the held-out reward rose about half as fast. The KL term to the
    /// frozen pretrained model stays: without it RL learned to paint floods of the requested colours. The learning rate is
    /// 3e-4: on a clean-image model of 40×40 images, 1e-4 raised the training reward by about 0.05 in 50 steps, 3e-4 by
    /// about 0.10 (docs/shapes-model.md). Old log-probs come from the rollout, which on CPU is bit-identical to recomputing
    /// them (<c>rollout/old_log_prob_mismatch</c> = 0).
    /// </remarks>
    public static TrainingOptions Defaults { get; } = new()
    {
        Steps = 140, PromptsPerStep = 32, GroupSize = 4, MicroBatchSize = 128, LearningRate = 3e-4, ClipRatio = 1e-3,
        Window = WindowStrategy.Random, WindowSize = 4, WindowRangeStart = 0, WindowRangeEnd = 4, TimestepFraction = 1.0,
        RecomputeOldLogProbs = false, UseKl = true, KlCoefficient = 0.04, CheckpointEvery = 10, SampleGridEvery = 10, Seed = 42,
    };

    /// <summary>
    /// The shapes job's defaults for an objective: <see cref="Defaults"/> for the policy-gradient family; for the others the
    /// reference's recipe values where it has them (DPO β 100; NFT β 0.1, <c>ref_kl_coef</c> 1e-4), ODE rollouts for DPO and
    /// DiffusionNFT (they train on clean latents), no reverse-SDE KL where it does not apply, and distillation without KL
    /// (the teacher anchors the student). Every value can be overridden by configuration.
    /// </summary>
    public static TrainingOptions DefaultsFor(string loss) => loss switch
    {
        "dpo" => Defaults with
        {
            UseKl = false, Window = WindowStrategy.Full, DpoBeta = 100, MicroBatchSize = 64, LearningRate = 3e-5,
        },
        "diffusion_nft" => Defaults with
        {
            UseKl = false, Window = WindowStrategy.Full, MixBeta = 0.1, RefKlCoefficient = 1e-4, TimestepFraction = 0.4, LearningRate = 3e-5,
        },
        "distill_kl" or "distill_fm_mse" => Defaults with { UseKl = false },
        _ => Defaults,
    };

    /// <summary>LoRA rank for the shapes model (0 = full fine-tuning); configuration key <c>omni:lora_rank</c>.</summary>
    public const int DefaultLoraRank = 0;

    /// <summary>
    /// LoRA alpha where the configuration is silent (<c>actor_rollout_ref:model:lora_alpha</c>): VeRL-Omni's
    /// <c>DiffusionModelConfig.lora_alpha</c> default.
    /// </summary>
    public const double DefaultLoraAlpha = 64;

    /// <summary>The rollout sampler.</summary>
    public const SdeType DefaultSdeType = SdeType.Sde;

    /// <summary>Noise level of the rollout SDE.</summary>
    public const double RolloutNoiseLevel = 0.7;

    /// <summary>The prompts and seeds of the before/after grids: 8 held-out prompts (rows) × 4 seeds (columns).</summary>
    public static (IReadOnlyList<string> Prompts, IReadOnlyList<long> Seeds) GridSamples()
    {
        var prompts = ShapesWorld.HeldOut.Take(8).SelectMany(p => Enumerable.Repeat(p.Text, 4)).ToList();
        var seeds = Enumerable.Range(0, prompts.Count).Select(i => 1000L + i % 4).ToList();
        return (prompts, seeds);
    }

    /// <summary>
    /// The training options of the shapes job: the objective's defaults (<see cref="DefaultsFor"/>) under the configuration's
    /// <c>training</c> section and reference keys — what each rank trains with, checked before any rank starts.
    /// </summary>
    public static Validation<OmniError, TrainingOptions> Options(IConfiguration configuration)
    {
        var (options, problems) = CliConfiguration.Training(configuration, DefaultsFor(LossName(configuration, ShapesAdapter.Register(BuiltInAdapters.Registries))));
        return problems.IsEmpty ? options : Validation<OmniError, TrainingOptions>.Fail(problems);
    }

    // The main loss the configuration asks for: loss_mode, or the algorithm's registered loss.
    private static string LossName(IConfiguration configuration, Omni.Algebra.Adapters.AdapterRegistries registries, string? algorithm = null)
    {
        algorithm ??= configuration[$"{ModelConfigBinding.Section}:algorithm"] ?? "flow_grpo";
        return configuration[$"{TrainingConfigBinding.LossSection}:loss_mode"] ?? configuration["training:LossMode"]
            ?? registries.Objectives.Resolve(algorithm).Match(r => r.Loss.Name, _ => algorithm);
    }

    /// <summary>
    /// Runs <c>omni train</c> on a shapes pipeline folder, as one rank of <paramref name="session"/>, on
    /// <paramref name="backend"/>'s device. Every setting is checked before any work (the held-out evaluation alone takes a
    /// minute), and every problem is reported at once. Every rank trains its share of each step; rank 0 alone evaluates,
    /// draws the grids, prints and writes the final model.
    /// </summary>
    public static async Task<int> Train(IConfiguration configuration, string folder, string runDirectory, IReadOnlyList<string> rewards, bool fresh,
                                        Omni.Effects.Devices.BackendInfo backend, RankSession session, CancellationToken stop)
    {
        // Everything the command line can get wrong is checked before any sample is drawn (only the model itself is loaded), and
        // reported at once.
        var problems = new List<OmniError>();
        var registries = ShapesAdapter.Register(BuiltInAdapters.Registries);
        using var shapes = ShapesPipelineFolder.Load(folder).OrThrow().To(backend.Device);
        shapes.Eval();
        var sampling = ShapesSampling.Default;
        // The reference's keys (actor_rollout_ref:model:algorithm, pipeline:num_inference_steps / guidance_scale, algo:noise_level /
        // sde_type / sde_window_size / sde_window_range, lora_alpha) override the shapes defaults; every key of that section is validated.
        var bound = ModelConfigBinding.Bind(configuration, shapes.ModelConfig(folder, steps: sampling.Steps, guidanceScale: sampling.GuidanceScale,
                                                                              sde: new SdeSettings { NoiseLevel = RolloutNoiseLevel, SdeType = DefaultSdeType })
                                                           with { Lora = new LoraSettings { Alpha = DefaultLoraAlpha } });
        var algorithm = bound.Match(c => c.Algorithm, _ => configuration[$"{ModelConfigBinding.Section}:algorithm"] ?? "flow_grpo");
        // The objective's own defaults apply under whatever the configuration sets.
        var lossName = LossName(configuration, registries, algorithm);
        var (trainingOptions, optionProblems) = CliConfiguration.Training(configuration, DefaultsFor(lossName));
        var parsedRewards = RewardSpecs.ParseAll(rewards.Count > 0 ? rewards : ["shapes"], problems);
        // omni:prompt_limit trains on the first N training prompts only (an overfitting check: the reward must climb).
        var limit = CliConfiguration.Int(configuration, "omni:prompt_limit", ShapesWorld.Training.Length, 1, ShapesWorld.Training.Length, problems);
        var loraRank = CliConfiguration.Int(configuration, "omni:lora_rank", DefaultLoraRank, 0, int.MaxValue, problems);
        // omni:heldout_seeds sets the samples per held-out prompt (default ShapesEvaluation.DefaultSeedsPerPrompt).
        var heldOutSeeds = CliConfiguration.Int(configuration, "omni:heldout_seeds", ShapesEvaluation.DefaultSeedsPerPrompt, 1, int.MaxValue, problems);
        // omni:evaluate=false skips the held-out evaluations and grids (quick checks; the training itself is unchanged).
        var evaluate = CliConfiguration.Bool(configuration, "omni:evaluate", true, problems);
        // omni:time_budget_s stops training after the step that reaches the budget (then evaluates as usual): the way to compare
        // objectives at equal wall-clock cost. Ctrl-C still stops without evaluating.
        var budgetSeconds = CliConfiguration.PositiveNumber(configuration, "omni:time_budget_s", problems);
        var teacherFolder = CliConfiguration.Teacher(configuration, problems);
        // omni:lora (what --lora sets) starts from a trained adapter in diffusers' or PEFT's layout instead of a fresh one.
        var adapter = configuration["omni:lora"] is { Length: > 0 } given ? given : null;
        if (adapter is not null) Omni.Models.Lora.LoraFiles.Read(adapter).IfLeft(problems.Add);
        var trainsLora = adapter is not null || loraRank > 0;
        var resources = new ObjectiveResources(trainsLora, HasReference: true, HasTeacher: teacherFolder is not null);
        var plan = ObjectivePlan.Resolve(trainingOptions, algorithm, registries.Objectives, resources);
        registries.Training.Get(ShapesPipeline.ClassName, algorithm).IfLeft(problems.Add);
        CliConfiguration.ThrowIfAny(problems, optionProblems, CliConfiguration.Problems(bound), CliConfiguration.Problems(plan));
        var (objectives, overrides) = (plan.Match(p => p, _ => throw new InvalidOperationException("validated above")),
                                       bound.Match(c => c, _ => throw new InvalidOperationException("validated above")));

        using var teacher = teacherFolder is null ? null : ShapesPipelineFolder.Load(teacherFolder).OrThrow().To(backend.Device);
        teacher?.Eval();
        var model = shapes.ModelConfig(folder, algorithm, steps: overrides.Pipeline.NumInferenceSteps, guidanceScale: overrides.Pipeline.GuidanceScale ?? 1.0,
                                       sde: overrides.Sde);

        // A frozen copy for full fine-tuning's reference (KL, DPO, NFT's ref_kl_coef), loaded only when the objective needs one
        // (LoRA's reference is the base with adapters off).
        using var reference = !trainsLora && objectives.NeedsReference(trainingOptions) ? ShapesPipelineFolder.Load(folder).OrThrow().To(backend.Device) : null;
        reference?.Eval();
        var pipeline = OmniPipelineBuilder.For(model).WithRegistries(registries).OnDevice(CliDevice.Settings(configuration));
        using var prompts = ShapesPromptEncoding.Encode(shapes.TextEncoder, ShapesWorld.Training.Take(limit).Select(p => p.Text).ToList()).OrThrow();
        using var loggers = CliLogging.Create(configuration);
        var builder = OmniTraining.From(pipeline)
            .WithLogging(loggers)
            .ObserveWith(new Omni.Training.Observers.ProgressObserver(Console.Out, !Console.IsOutputRedirected))
            .WithModule(shapes.Transformer)
            .WithPrompts(prompts)
            .WithOptions(trainingOptions)
            .WriteTo(runDirectory);
        foreach (var (reward, weight) in parsedRewards) builder = builder.WithReward(reward, weight);
        if (reference is not null) builder = builder.WithReference(reference.Transformer);
        if (teacher is not null)
        {
            foreach (var p in teacher.Transformer.parameters()) p.requires_grad_(false);
            builder = builder.WithTeacher(teacher.Transformer);
        }
        builder = adapter is not null ? builder.WithLoraWeights(adapter)
            : loraRank > 0 ? builder.WithLora(loraRank, overrides.Lora.Alpha, ["all-linear"])
            : builder.FullFineTuning();
        if (fresh) builder = builder.StartFresh();
        if (session.Collectives is { } collectives) builder = builder.WithDataParallel(collectives, session.Sharding, RankSession.PrecisionFor(bf16Compute: trainingOptions.Precision == TrainingPrecision.Bf16Mixed));
        builder.Validate();

        Directory.CreateDirectory(runDirectory);
        session.Say($"omni train: {algorithm} (loss {objectives.Loss.Name}) on {folder} ({limit} training prompts, {ShapesWorld.HeldOut.Length} held out) → {runDirectory}"
                    + (teacherFolder is null ? "" : $", teacher {teacherFolder}") + (session.Collectives is null ? "" : $" on {session.Describe()}"));
        ShapesEvaluationResult? before = null;
        if (evaluate && session.IsLeader)
        {
            before = ShapesEvaluation.HeldOutReward(shapes, heldOutSeeds);
            Console.WriteLine($"held-out reward before: {Describe(before)}");
            SaveGrid(shapes, Path.Combine(runDirectory, "before.png"));
        }
        session.Barrier();

        using var run = builder.Build();
        session.Say($"{TrainableLine(run)} on {backend.DeviceName} in {trainingOptions.Precision.Name()}");
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (budgetSeconds is { } seconds) budget.CancelAfter(TimeSpan.FromSeconds(seconds));
        var summary = await run.RunAsync(budget.Token);
        // The ranks stopped after the same step; whether by Ctrl-C or by the budget is agreed too (each rank has its own clock).
        var parallel = run.Policy.Parallel;
        var interrupted = summary.Cancelled && (budgetSeconds is null || parallel.AnyRank(stop.IsCancellationRequested));
        if (interrupted)
        {
            session.Say($"Stopped after step {summary.StepsCompleted}. Run the same command to resume.");
            return ExitCodes.Interrupted;
        }
        // A budget stop is a completed run (RunOutcome would report a cancelled summary as an interruption, exit 130).
        if (summary.Cancelled) session.Say($"time budget of {budgetSeconds:0.#} s reached after step {summary.StepsCompleted}; evaluating");
        var outcome = RunOutcome.Report(summary with { Cancelled = false }, speak: session.IsLeader);
        if (outcome != ExitCodes.Ok) return outcome;

        // FSDP: every rank joins in gathering the full weights back (and in the LoRA export, a collective); then rank 0
        // evaluates and writes while the others wait.
        parallel.Shards?.Unshard();
        // The adapters in diffusers' and PEFT's layouts (merged into the final model's weights afterwards).
        var loraFile = run.Lora is null ? null : run.Export(Path.Combine(runDirectory, "final-lora"));
        if (!session.IsLeader)
        {
            session.Barrier();
            return ExitCodes.Ok;
        }
        try
        {
            if (loraFile is not null) Console.WriteLine($"LoRA adapters: {loraFile} (diffusers) and adapter_model.safetensors + adapter_config.json (PEFT)");
            return Finish(run, shapes, runDirectory, before, summary.StepsCompleted, heldOutSeeds, mergeLora: run.Lora is not null,
                          (algorithm, objectives.Loss.Name, budgetSeconds));
        }
        finally { session.Barrier(); }
    }

    /// <summary>The trained-parameter line: full sizes, and each rank's share under FSDP.</summary>
    private static string TrainableLine(OmniTrainingRun run)
    {
        var parallel = run.Policy.Parallel;
        var kind = run.Lora is { } l ? $"LoRA rank {l.Rank}, alpha {l.Alpha}" : "full fine-tuning";
        if (parallel.Shards is not { } shards)
        {
            var trainable = run.Policy.Trainable;
            return $"training {trainable.Sum(p => p.Parameter.numel()):N0} parameters in {trainable.Count} tensors ({kind})";
        }
        var trained = shards.Parameters.Where(p => p.RequiresGrad).ToList();
        var full = trained.Sum(p => p.FullShape.Aggregate(1L, (a, b) => a * b));
        return $"training {full:N0} parameters in {trained.Count} tensors ({kind}); FSDP over {parallel.WorldSize} rank{(parallel.WorldSize == 1 ? "" : "s")}: {trained.Sum(p => p.ShardElements):N0} per rank";
    }

    // Rank 0's end of a completed run: the held-out evaluation after training, the grid, the final model and the summary.
    private static int Finish(OmniTrainingRun run, ShapesPipeline shapes, string runDirectory, ShapesEvaluationResult? before, int steps, int heldOutSeeds, bool mergeLora,
                              (string Algorithm, string Loss, double? BudgetSeconds) objective)
    {
        shapes.Eval();
        var final = Path.Combine(runDirectory, "final-model");
        // The trained model is evaluated as it trained (with its adapters, before they are merged), and evaluated and saved in
        // float32 — under bf16-mixed, the float32 master weights —, as before training.
        var after = run.WithFloat32Weights(() =>
        {
            var score = before is null ? null : ShapesEvaluation.HeldOutReward(shapes, heldOutSeeds);
            if (score is not null) SaveGrid(shapes, Path.Combine(runDirectory, "after.png"));
            if (mergeLora) Omni.Models.Lora.LoraAdapters.Merge(shapes.Transformer);
            ShapesPipelineFolder.Save(shapes, final);
            return score;
        });
        if (before is null || after is null)
        {
            Console.WriteLine($"trained model: {final} (not evaluated: omni:evaluate=false)");
            return ExitCodes.Ok;
        }
        var gain = PairedGain.Of(before.Totals, after.Totals);
        Console.WriteLine($"held-out reward before: {Describe(before)}");
        Console.WriteLine($"held-out reward after:  {Describe(after)}");
        Console.WriteLine($"change: {DescribeGain(gain, before.Total)}");
        Console.WriteLine($"pictures: {Path.Combine(runDirectory, "before.png")}, {Path.Combine(runDirectory, "after.png")}, {Path.Combine(runDirectory, "plots")}");
        Console.WriteLine($"trained model: {final}  (omni sample --model {final} --prompt \"two red circles above a blue square\")");
        File.WriteAllText(Path.Combine(runDirectory, "summary.json"), JsonSerializer.Serialize(new
        {
            algorithm = objective.Algorithm, loss = objective.Loss, before = Summary(before), after = Summary(after), absolute_gain = gain.Mean,
            gain_ci95 = new[] { gain.Lower, gain.Upper }, gain_standard_error = gain.StandardError,
            relative_gain = before.Total > 0 ? gain.Mean / before.Total : (double?)null, steps,
            time_budget_s = objective.BudgetSeconds,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return ExitCodes.Ok;
    }

    /// <summary>One line: total and per-criterion means (position over the relation prompts' samples only).</summary>
    public static string Describe(ShapesEvaluationResult r) =>
        $"{r.Total:F3} (count {r.Counting:F3}, colour {r.Colour:F3}, shape {r.Shape:F3}, position {r.Position:F3} of {r.RelationSamples} relation samples; {r.Samples} samples)";

    /// <summary>One line: the paired gain, its 95 % interval and the relative change.</summary>
    public static string DescribeGain(PairedGain gain, double before) =>
        $"{gain.Mean:+0.000;-0.000;0.000} absolute (95% CI {gain.Lower:+0.000;-0.000;0.000} to {gain.Upper:+0.000;-0.000;0.000}, paired over {gain.Pairs} samples), " +
        $"{(before > 0 ? gain.Mean / before : double.NaN):+0%;-0%;0%} relative";

    // The means of a result, without its per-sample scores.
    private static object Summary(ShapesEvaluationResult r) => new
    {
        total = r.Total, counting = r.Counting, colour = r.Colour, shape = r.Shape, position = double.IsNaN(r.Position) ? (double?)null : r.Position,
        samples = r.Samples, relation_samples = r.RelationSamples,
    };

    /// <summary>Samples the grid prompts and writes the grid.</summary>
    public static void SaveGrid(ShapesPipeline shapes, string path)
    {
        var (prompts, seeds) = GridSamples();
        using var images = ShapesSampler.Sample(shapes, prompts, seeds);
        SampleGrid.Save(path, RgbImage.FromTensor(images), columns: 4, padding: 2, scale: 3, background: 128);
    }
}
