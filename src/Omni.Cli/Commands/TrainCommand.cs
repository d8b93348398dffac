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
        var collectivesBackend = new Option<string?>("--backend") { Description = "Collectives: auto (default: NCCL for GPU tensors, MPI otherwise), mpi or nccl." };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var command = new Command("train", "RL fine-tuning: Flow-GRPO, GRPO-Guard, Flow-DPPO, DPO, DiffusionNFT or distillation (--set actor_rollout_ref:model:algorithm=…). With no arguments: FlowGRPO on the bundled shapes model (≈10 min on 2 cores).")
        {
            model, config, set, seed, run, steps, prompts, reward, lora, fresh, device, precision, nproc, sharding, collectivesBackend,
        };
        command.SetAction((result, _) => CliFailure.Guard(async () =>
        {
            var folder = ModelLocator.Resolve(result.GetValue(model));
            var configuration = CliConfiguration.Build(result.GetValue(config),
                CommonOptions.Pairs(("actor_rollout_ref:model:path", folder), ("training:Steps", result.GetValue(steps)),
                                    ("training:Seed", result.GetValue(seed)), ("omni:prompts", result.GetValue(prompts)), ("omni:lora", result.GetValue(lora)),
                                    (RankSession.ShardingKey, result.GetValue(sharding)), (RankSession.BackendKey, result.GetValue(collectivesBackend)),
                                    (CliDevice.DeviceKey, result.GetValue(device)), ("training:Precision", result.GetValue(precision)))
                    .Concat(CliConfiguration.ParseSettings(result.GetValue(set) ?? [])));
            var runDirectory = result.GetValue(run)
                ?? Path.Combine("runs", ModelLocator.IsShapes(folder) ? "shapes" : new DirectoryInfo(folder).Name);
            var isShapes = ModelLocator.IsShapes(folder);
            var options = isShapes ? ShapesJob.Options(configuration) : GenericTraining.Options(configuration);
            // The launcher (--nproc) makes no torch call and chooses no device: each rank it starts re-runs these arguments
            // (--device included) and brings its own backend up.
            if (result.GetValue(nproc) is { } ranks)
            {
                if (ranks < 1) throw new ArgumentException($"--nproc must be at least 1, got {ranks}.");
                if (RankLauncher.InsideJob())
                    throw new ArgumentException("--nproc starts its own ranks through mpiexec; inside an mpiexec launch, drop --nproc.");
                if (ranks > 1)
                {
                    LaunchChecks.Validate(configuration, ranks, options, withOptionProblems: true);
                    // A malformed --device is refused here, once, rather than by every rank (parsing makes no torch call).
                    CliDevice.Settings(configuration);
                    return await RankLauncher.Run(ranks, LaunchChecks.WithoutNproc(Environment.GetCommandLineArgs()[1..]), runDirectory);
                }
            }
            // In each rank, in this order: its GPU (CUDA_VISIBLE_DEVICES, no torch call), then the backend (the first torch
            // call; CUDA reads the variable as it comes up), then the collectives on that device and the rank's CPU threads
            // (torch.set_num_threads loads libtorch, so it must follow the backend). Rank 0 alone prints the device line.
            var layout = Omni.Effects.Distributed.RankEnvironment.Current().Match(l => l, _ => Omni.Effects.Distributed.RankEnvironment.SingleProcess);
            Omni.Effects.Distributed.RankPlacement.AssignGpu(layout);
            var backend = CliDevice.Select(configuration, announce: layout.IsLeader);
            using var session = StartRank(configuration, options, layout, backend.Device);
            if (session is null) return ExitCodes.BadInput;
            using var interrupt = new Interrupt(announce: session.IsLeader);
            try
            {
                return isShapes
                    ? await ShapesJob.Train(configuration, folder, runDirectory, result.GetValue(reward) ?? [], result.GetValue(fresh), backend, session, interrupt.Token)
                    : await GenericTraining.Run(configuration, runDirectory, result.GetValue(reward) ?? [], result.GetValue(fresh), backend, session, interrupt.Token);
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
                                          LanguageExt.Validation<Omni.Algebra.Errors.OmniError, Omni.Training.Options.TrainingOptions> options,
                                          Omni.Effects.Distributed.RankEnvironment layout, TorchSharp.torch.Device device)
    {
        try
        {
            LaunchChecks.Validate(configuration, layout.WorldSize, options, withOptionProblems: false);
            // The device the model lives on decides between MPI and NCCL (--backend auto).
            return RankSession.Start(configuration, device);
        }
        catch (Omni.Algebra.Errors.OmniException) when (!layout.IsLeader)
        {
            return null;
        }
    }
}
