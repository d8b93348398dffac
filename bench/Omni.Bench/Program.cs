// Benchmarks, not tests: each prints its numbers beside a baseline measured in the same run.
//   dotnet run -c Release --project bench/Omni.Bench            SDE steps vs memory bandwidth
//   dotnet run -c Release --project bench/Omni.Bench -- sd3     SD3 transformer GFLOP/s vs a float32 matmul
switch (args.FirstOrDefault() ?? "sde")
{
    case "sde":
        Omni.Bench.SdeStepBench.Run();
        break;
    case "sd3":
        Omni.Bench.Sd3Bench.Run();
        break;
    default:
        Console.Error.WriteLine($"unknown benchmark '{args[0]}'; choose 'sde' or 'sd3'");
        Environment.Exit(2);
        break;
}
