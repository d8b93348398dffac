// Benchmarks, not tests: each prints its numbers beside a baseline measured in the same run.
//   dotnet run -c Release --project bench/Omni.Bench                       SDE steps vs memory bandwidth (CPU)
//   dotnet run -c Release --project bench/Omni.Bench -- sd3                SD3 transformer GFLOP/s vs a float32 matmul (CPU)
//   dotnet run -c Release --project bench/Omni.Bench -- sd35 [--device auto|cpu|cuda] [--size medium|small] [--repeat N] [--json out.json]
//                                                                          SD3.5-Medium in bf16: forward, training, rollout, SDE step, MFU
// sd35 chooses its device first (TorchBackend.Initialize), before any other torch call; the others run on the CPU.
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
        Console.Error.WriteLine($"unknown benchmark '{args[0]}'; choose 'sde', 'sd3' or 'sd35'");
        return 2;
}
return 0;
