using Omni.Effects.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// Deterministic per-rank inputs for every collective and dtype, and the results a rank must see, computed in one
/// process from the same formulas. The worker runs <see cref="Run"/> on each rank; the test checks it with <see cref="Expected"/>.
/// </summary>
internal static class CollectiveCases
{
    public static readonly ScalarType[] Dtypes = [ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float64, ScalarType.Int64];
    private const int Length = 6;

    /// <summary>Rank r's input: values that every dtype represents exactly and whose sums stay exact.</summary>
    public static Tensor Input(int rank, ScalarType dtype) =>
        (arange(Length, ScalarType.Float64) * (rank + 1) - 2 * rank).to(dtype);

    public static Dictionary<string, Tensor> Run(ICollectives c)
    {
        var results = new Dictionary<string, Tensor>();
        foreach (var dtype in Dtypes)
        {
            var name = dtype.ToString();
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min, ReduceOp.Average })
            {
                if (op == ReduceOp.Average && dtype == ScalarType.Int64) continue;
                var t = Input(c.Rank, dtype);
                c.AllReduce(t, op);
                results[$"all_reduce.{op}.{name}"] = t;
            }
            var gathered = zeros(c.WorldSize * Length, dtype);
            c.AllGather(Input(c.Rank, dtype), gathered);
            results[$"all_gather.{name}"] = gathered;
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average })
            {
                if (op == ReduceOp.Average && dtype == ScalarType.Int64) continue;
                var scattered = zeros(Length, dtype);
                c.ReduceScatter(WideInput(c.Rank, c.WorldSize, dtype), scattered, op);
                results[$"reduce_scatter.{op}.{name}"] = scattered;
            }
            var root = c.WorldSize - 1;
            var broadcast = Input(c.Rank, dtype);
            c.Broadcast(broadcast, root);
            results[$"broadcast.{name}"] = broadcast;
        }
        c.Barrier();
        return results;
    }

    /// <summary>Rank r's reduce-scatter input: world size blocks, block b = input(r) + 10·b.</summary>
    public static Tensor WideInput(int rank, int world, ScalarType dtype) =>
        cat(Enumerable.Range(0, world).Select(b => Input(rank, ScalarType.Float64) + 10 * b).ToArray()).to(dtype);

    /// <summary>What rank <paramref name="rank"/> of <paramref name="world"/> must hold after <see cref="Run"/>, computed in float64.</summary>
    public static Dictionary<string, Tensor> Expected(int rank, int world)
    {
        var expected = new Dictionary<string, Tensor>();
        var inputs = Enumerable.Range(0, world).Select(r => Input(r, ScalarType.Float64)).ToArray();
        var stacked = stack(inputs);
        foreach (var dtype in Dtypes)
        {
            var name = dtype.ToString();
            expected[$"all_reduce.Sum.{name}"] = stacked.sum(dim: 0).to(dtype);
            expected[$"all_reduce.Max.{name}"] = stacked.max(0).values.to(dtype);
            expected[$"all_reduce.Min.{name}"] = stacked.min(0).values.to(dtype);
            if (dtype != ScalarType.Int64) expected[$"all_reduce.Average.{name}"] = (stacked.sum(dim: 0) / world).to(dtype);
            expected[$"all_gather.{name}"] = cat(inputs).to(dtype);
            var wide = stack(Enumerable.Range(0, world).Select(r => WideInput(r, world, ScalarType.Float64)).ToArray()).sum(dim: 0);
            var block = wide.narrow(0, rank * Length, Length);
            expected[$"reduce_scatter.Sum.{name}"] = block.to(dtype);
            if (dtype != ScalarType.Int64) expected[$"reduce_scatter.Average.{name}"] = (block / world).to(dtype);
            expected[$"broadcast.{name}"] = Input(world - 1, dtype);
        }
        return expected;
    }
}
