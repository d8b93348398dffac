// Benchmarks, not tests: each prints its numbers beside a baseline measured in the same run.
//   dotnet run -c Release --project bench/Omni.Bench            SDE steps vs memory bandwidth
//   dotnet run -c Release --project bench/Omni.Bench -- sd3     SD3 transformer GFLOP/s vs a float32 matmul
//   dotnet run -c Release --project bench/Omni.Bench -- distributed
//                                      shapes training step: 1 process vs 2 MPICH ranks (DDP, FSDP), traffic, memory per rank
//   dotnet run -c Release --project bench/Omni.Bench -- distributed-check [--device cuda] [--json out.json]
//                                      NCCL (CUDA) or one-process collectives and the FSDP unit at world size 1 (device check)
switch (args.FirstOrDefault() ?? "sde")
{
    case "sde":
        Omni.Bench.SdeStepBench.Run();
        break;
    case "sd3":
        Omni.Bench.Sd3Bench.Run();
        break;
    case "distributed":
        Omni.Bench.DistributedBench.Run();
        break;
    case "distributed-check":
        Environment.Exit(Omni.Bench.DistributedDeviceCheck.Run(args[1..]));
        break;
    case "distributed-rank":
        Omni.Bench.DistributedBench.Rank(args[1], args[2]);
        break;
    default:
        Console.Error.WriteLine($"unknown benchmark '{args[0]}'; choose 'sde', 'sd3' or 'distributed'");
        Environment.Exit(2);
        break;
}
