using System.CommandLine;
using Omni.Cli.Cli;
using Omni.Cli.Distributed;

namespace Omni.Cli.Commands;

/// <summary><c>omni train</c>: RL fine-tuning with any registered objective (the bundled shapes model by default).</summary>
public static class TrainCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var set = CommonOptions.Set();
        var seed = CommonOptions.Seed();
        var run = new Option<string?>("--run", "-o") { Description = "Run folder for checkpoints, metrics and pictures (default runs/shapes, or runs/<model name>). An existing run resumes." };
        var steps = new Option<int?>("--steps") { Description = "Training steps." };
        var prompts = new Option<string?>("--prompts") { Description = "Prompt embeddings (safetensors: prompt_embeds, masks, negatives, extras such as pooled_prompt_embeds) — for diffusers folders." };
        var reward = new Option<string[]>("--reward") { Description = "Reward: jpeg_compressibility, jpeg_incompressibility, shapes or an http(s) scorer URL, optionally *weight (repeatable)." };
        var lora = CommonOptions.Lora();
        var fresh = new Option<bool>("--fresh") { Description = "Ignore the run folder's checkpoint and start over." };
        var nproc = new Option<int?>("--nproc") { Description = "Start this many ranks on this machine through MPICH's mpiexec (CPU: the cores are split between them; CUDA: one GPU each). `mpiexec -n N omni train …` works too." };
        var sharding = new Option<string?>("--sharding") { Description = "How several ranks split the model: ddp (default: every rank holds the weights, gradients are averaged) or fsdp (parameters, gradients and optimizer state sharded)." };
        var backend = new Option<string?>("--backend") { Description = "Collectives: auto (default: NCCL for GPU tensors, MPI otherwise), mpi or nccl." };
        var command = new Command("train", "RL fine-tuning: Flow-GRPO, GRPO-Guard, Flow-DPPO, DPO, DiffusionNFT or distillation (--set actor_rollout_ref:model:algorithm=…). With no arguments: FlowGRPO on the bundled shapes model (≈10 min on 2 cores).")
        {
            model, config, set, seed, run, steps, prompts, reward, lora, fresh, nproc, sharding, backend,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            var folder = ModelLocator.Resolve(result.GetValue(model));
            var configuration = CliConfiguration.Build(result.GetValue(config),
                CommonOptions.Pairs(("actor_rollout_ref:model:path", folder), ("training:Steps", result.GetValue(steps)),
                                    ("training:Seed", result.GetValue(seed)), ("omni:prompts", result.GetValue(prompts)), ("omni:lora", result.GetValue(lora)),
                                    (RankSession.ShardingKey, result.GetValue(sharding)), (RankSession.BackendKey, result.GetValue(backend)))
                    .Concat(CliConfiguration.ParseSettings(result.GetValue(set) ?? [])));
            var runDirectory = result.GetValue(run)
                ?? Path.Combine("runs", ModelLocator.IsShapes(folder) ? "shapes" : new DirectoryInfo(folder).Name);
            var isShapes = ModelLocator.IsShapes(folder);
            var options = isShapes ? ShapesJob.Options(configuration) : GenericTraining.Options(configuration);
            if (result.GetValue(nproc) is { } ranks)
            {
                if (ranks < 1) throw new ArgumentException($"--nproc must be at least 1, got {ranks}.");
                if (RankLauncher.InsideJob())
                    throw new ArgumentException("--nproc starts its own ranks through mpiexec; inside an mpiexec launch, drop --nproc.");
                if (ranks > 1)
                {
                    LaunchChecks.Validate(configuration, ranks, options, withOptionProblems: true);
                    return await RankLauncher.Run(ranks, LaunchChecks.WithoutNproc(Environment.GetCommandLineArgs()[1..]), runDirectory);
                }
            }
            using var session = StartRank(configuration, options);
            if (session is null) return ExitCodes.BadInput;
            using var interrupt = new Interrupt(announce: session.IsLeader);
            try
            {
                return isShapes
                    ? await ShapesJob.Train(configuration, folder, runDirectory, result.GetValue(reward) ?? [], result.GetValue(fresh), session, interrupt.Token)
                    : await GenericTraining.Run(configuration, runDirectory, result.GetValue(reward) ?? [], result.GetValue(fresh), session, interrupt.Token);
            }
            catch (Exception e) when (session.IsDistributed)
            {
                return session.Fail(e);
            }
        }));
        return command;
    }

    // Launch problems are refused before any model is loaded (the job checks its own settings next, also before any work).
    // They are the same on every rank: rank 0 reports them, the others leave quietly with the same exit code.
    private static RankSession? StartRank(Microsoft.Extensions.Configuration.IConfiguration configuration,
                                          LanguageExt.Validation<Omni.Algebra.Errors.OmniError, Omni.Training.Options.TrainingOptions> options)
    {
        var layout = Omni.Effects.Distributed.RankEnvironment.Current().Match(l => l, _ => Omni.Effects.Distributed.RankEnvironment.SingleProcess);
        try
        {
            LaunchChecks.Validate(configuration, layout.WorldSize, options, withOptionProblems: false);
            // The model lives on the CPU until a device option exists; the device decides between MPI and NCCL.
            return RankSession.Start(configuration, TorchSharp.torch.CPU);
        }
        catch (Omni.Algebra.Errors.OmniException) when (!layout.IsLeader)
        {
            return null;
        }
    }
}
