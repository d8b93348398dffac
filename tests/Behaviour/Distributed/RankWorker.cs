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

    // Each rank trains on its half of a 4-sample batch: the gathered parameters must equal the originals and the shard
    // gradients the slices of the whole batch's gradient (the test computes that in one process).
    private static void FsdpUnit(ICollectives c, string folder, bool lora)
    {
        using var scope = NewDisposeScope();
        using var model = ShardingFixture.Model(lora);
        using var fsdp = Omni.Effects.Distributed.Sharding.FullyShardedModule.Shard(model, c);
        fsdp.Gather();
        var gathered = fsdp.Parameters.ToDictionary(p => p.Name, p => (Tensor)FieldValue(model, p.Name).detach().clone());
        ShardingFixture.Loss(model, ShardingFixture.Inputs(2 * c.Rank, 2)).backward();
        fsdp.Release();
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => (Tensor)p.parameter.grad!);
        var shards = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.detach());
        SafetensorsWriter.Write(Path.Combine(folder, $"gathered-{c.Rank}.safetensors"), gathered);
        SafetensorsWriter.Write(Path.Combine(folder, $"grads-{c.Rank}.safetensors"), grads);
        SafetensorsWriter.Write(Path.Combine(folder, $"shards-{c.Rank}.safetensors"), shards);
    }

    private static Tensor FieldValue(TorchSharp.torch.nn.Module model, string name)
    {
        var split = name.LastIndexOf('.');
        var owner = model.named_modules().First(m => m.name == name[..split]).module;
        for (var type = owner.GetType(); type is not null; type = type.BaseType)
            foreach (var f in type.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
                if (TorchSharp.FieldInfoExtensionMethods.ComponentName(f) == name[(split + 1)..] && f.GetValue(owner) is Tensor t) return t;
        throw new InvalidOperationException(name);
    }

    private static void RunScenario(string scenario, ICollectives c, string folder)
    {
        switch (scenario)
        {
            case "collectives":
                SafetensorsWriter.Write(Path.Combine(folder, $"rank-{c.Rank}.safetensors"), CollectiveCases.Run(c));
                File.WriteAllText(Path.Combine(folder, $"rank-{c.Rank}.txt"), $"{c.Backend}\n{c.Rank}\n{c.WorldSize}\n{c.Traffic.TotalCalls}");
                // What the trainer agrees on: the first failing rank's reason, a flag raised anywhere, values and strings.
                File.WriteAllLines(Path.Combine(folder, $"host-{c.Rank}.txt"),
                [
                    c.FirstFailure(c.Rank == 1 ? "rank one's problem" : null) ?? "none",
                    c.FirstFailure(null) ?? "none",
                    c.AnyRank(c.Rank == 1).ToString(),
                    c.AnyRank(false).ToString(),
                    string.Join(",", c.GatherValues([c.Rank + 0.5f, -c.Rank])),
                    string.Join("|", c.AllGatherStrings(new string('x', c.Rank * 3) + $"r{c.Rank}")),
                    string.Join(",", c.ReduceValues([c.Rank + 1.0, 10.0 * c.Rank], ReduceOp.Max)),
                ]);
                break;
            case "throw-on-rank-1":
                c.Barrier();
                if (c.Rank == 1) throw new InvalidOperationException("deliberate failure for the test");
                using (var t = ones(4)) c.AllReduce(t);
                break;
            case "stall-rank-1":
                if (c.Rank == 1) Thread.Sleep(TimeSpan.FromSeconds(120));
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
            case "fsdp-unit":
            case "fsdp-unit-lora":
                FsdpUnit(c, folder, lora: scenario.EndsWith("lora"));
                break;
            default:
                throw new ArgumentException($"unknown scenario '{scenario}'");
        }
    }
}
