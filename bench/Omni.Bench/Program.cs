// Benchmarks, not tests: each prints its numbers beside a baseline measured in the same run.
// Benchmarks, not tests: each prints its numbers beside a baseline measured in the same run.
//   dotnet run -c Release --project bench/Omni.Bench                       SDE steps vs memory bandwidth (CPU)
//   dotnet run -c Release --project bench/Omni.Bench -- sd3                SD3 transformer GFLOP/s vs a float32 matmul (CPU)
//   dotnet run -c Release --project bench/Omni.Bench -- sd35 [--device auto|cpu|cuda] [--size medium|small] [--repeat N] [--json out.json]
//                                                                          SD3.5-Medium in bf16: forward, training, rollout, SDE step, MFU
//   dotnet run -c Release --project bench/Omni.Bench -- distributed
//                                      shapes training step: 1 process vs 2 MPICH ranks (DDP, FSDP), traffic, memory per rank
//   dotnet run -c Release --project bench/Omni.Bench -- distributed-check [--device auto|cpu|cuda] [--json out.json]
//                                      NCCL (CUDA) or one-process collectives and the FSDP unit at world size 1 (device check)
// sd35 and distributed-check choose their device first (TorchBackend.Initialize), before any other torch call; the others
// run on the CPU.
using Omni.Algebra.Errors;

switch (args.FirstOrDefault() ?? "sde")
{
    case "sde":
        Omni.Effects.Devices.TorchBackend.Initialize(Omni.Algebra.Devices.DeviceSettings.Cpu);
        Omni.Bench.SdeStepBench.Run();
        break;
    case "sd3":
        Omni.Effects.Devices.TorchBackend.Initialize(Omni.Algebra.Devices.DeviceSettings.Cpu);
        Omni.Bench.Sd3Bench.Run();
        break;
    case "distributed":
        Omni.Effects.Devices.TorchBackend.Initialize(Omni.Algebra.Devices.DeviceSettings.Cpu);
        Omni.Bench.DistributedBench.Run();
        break;
    case "distributed-check":
        try
        {
            // CUDA must come up before anything else touches libtorch; the check then runs on the device chosen here.
            var device = Array.IndexOf(args, "--device") is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : "auto";
            Omni.Effects.Devices.TorchBackend.Initialize(Omni.Algebra.Devices.DeviceSettings.For(
                Omni.Algebra.Devices.DeviceRequest.Parse(device).OrThrow()));
        }
        catch (Exception e) when (e is Omni.Algebra.Errors.OmniException or ArgumentException)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 2;
        }
        return Omni.Bench.DistributedDeviceCheck.Run(args[1..]);
    case "distributed-rank":
        Omni.Effects.Devices.TorchBackend.Initialize(Omni.Algebra.Devices.DeviceSettings.Cpu);
        Omni.Bench.DistributedBench.Rank(args[1], args[2]);
        break;
    case "sd35":
        try
        {
            return Omni.Bench.Sd35Bench.Run(args);
        }
        catch (Exception e) when (e is Omni.Algebra.Errors.OmniException or ArgumentException)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 2;
        }
    default:
        Console.Error.WriteLine($"unknown benchmark '{args[0]}'; choose 'sde', 'sd3', 'sd35', 'distributed' or 'distributed-check'");
        return 2;
}
return 0;
