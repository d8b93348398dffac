using Omni.Effects.Distributed;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// The test assembly doubles as the program each rank of a multi-rank test runs (<c>dotnet Omni.Tests.Behaviour.dll
/// rank-worker SCENARIO FOLDER</c>): every rank writes what it computed to FOLDER, and the test compares those files with a
/// one-process computation of its own. One torch thread per rank.
/// </summary>
internal static class RankWorker
{
    public const string Verb = "rank-worker";

    public static int Main(string[] args)
    {
        if (args.Length < 3 || args[0] != Verb)
        {
            Console.Error.WriteLine($"usage: dotnet Omni.Tests.Behaviour.dll {Verb} SCENARIO FOLDER (run by the tests under mpiexec)");
            return 2;
        }
        set_num_threads(1);
        var layout = RankEnvironment.Current().Match(l => l, e => throw new InvalidOperationException(e.Message));
        using var collectives = Collectives.Start(layout, CollectivesBackend.Auto, CPU);
        try
        {
            RunScenario(args[1], collectives, args[2]);
            collectives.Barrier();
            return 0;
        }
        catch (Exception e)
        {
            collectives.Abort($"{e.GetType().Name}: {e.Message}", 3);
            return 3;
        }
    }

    private static void RunScenario(string scenario, ICollectives c, string folder)
    {
        switch (scenario)
        {
            case "collectives":
                SafetensorsWriter.Write(Path.Combine(folder, $"rank-{c.Rank}.safetensors"), CollectiveCases.Run(c));
                File.WriteAllText(Path.Combine(folder, $"rank-{c.Rank}.txt"), $"{c.Backend}\n{c.Rank}\n{c.WorldSize}\n{c.Traffic.TotalCalls}");
                break;
            case "throw-on-rank-1":
                c.Barrier();
                if (c.Rank == 1) throw new InvalidOperationException("deliberate failure for the test");
                using (var t = ones(4)) c.AllReduce(t);
                break;
            case "stall-rank-1":
                if (c.Rank == 1) Thread.Sleep(TimeSpan.FromSeconds(60));
                using (var t = ones(4)) c.AllReduce(t);
                break;
            case "die-in-loop":
                File.WriteAllText(Path.Combine(folder, $"rank-{c.Rank}.pid"), Environment.ProcessId.ToString());
                for (var i = 0; i < 600; i++)
                {
                    using var t = ones(4);
                    c.AllReduce(t);
                    Thread.Sleep(100);
                }
                break;
            default:
                throw new ArgumentException($"unknown scenario '{scenario}'");
        }
    }
}
