using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed;

/// <summary>
/// DDP's gradient averaging: the gradients of the trained parameters are packed, in parameter order, into flat buckets of
/// at most <see cref="DefaultBucketBytes"/> (one dtype per bucket), each all-reduced with one call and copied back — few
/// large messages instead of one per tensor. A parameter that received no gradient on some rank contributes zeros there,
/// so every rank reduces the same buckets.
/// </summary>
public static class GradientBuckets
{
    /// <summary>25 MiB, PyTorch DDP's default bucket size.</summary>
    public const long DefaultBucketBytes = 25L << 20;

    /// <summary>Replaces every gradient by its average over the ranks.</summary>
    public static void AllReduceAverage(ICollectives collectives, IReadOnlyList<Parameter> parameters, long bucketBytes = DefaultBucketBytes)
    {
        if (collectives.WorldSize == 1 || parameters.Count == 0) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Which parameters have a gradient on any rank: those take part (zeros where a rank has none).
        var has = parameters.Select(p => p.grad is null ? 0.0 : 1.0).ToArray();
        var any = collectives.ReduceValues(has, ReduceOp.Max);
        var taking = parameters.Where((_, i) => any[i] > 0).ToList();
        foreach (var p in taking) p.grad ??= zeros_like(p).DetachFromDisposeScope();
        foreach (var bucket in Buckets(taking, bucketBytes))
        {
            var grads = bucket.Select(p => p.grad!).ToList();
            var flat = cat(grads.Select(g => g.reshape(-1)).ToArray());
            collectives.AllReduce(flat, ReduceOp.Average);
            var offset = 0L;
            foreach (var g in grads)
            {
                g.copy_(flat.narrow(0, offset, g.numel()).view(g.shape));
                offset += g.numel();
            }
        }
    }

    private static IEnumerable<List<Parameter>> Buckets(IReadOnlyList<Parameter> parameters, long bucketBytes)
    {
        var bucket = new List<Parameter>();
        long bytes = 0;
        foreach (var p in parameters)
        {
            var size = p.numel() * p.ElementSize;
            if (bucket.Count > 0 && (bytes + size > bucketBytes || bucket[0].dtype != p.dtype))
            {
                yield return bucket;
                (bucket, bytes) = ([], 0);
            }
            bucket.Add(p);
            bytes += size;
        }
        if (bucket.Count > 0) yield return bucket;
    }

    /// <summary>Broadcasts rank <paramref name="root"/>'s values of <paramref name="parameters"/> to every rank (DDP's start).</summary>
    public static void Broadcast(ICollectives collectives, IEnumerable<Tensor> parameters, int root = 0)
    {
        if (collectives.WorldSize == 1) return;
        using var noGrad = no_grad();
        foreach (var p in parameters)
        {
            if (p.is_contiguous())
            {
                collectives.Broadcast(p.detach(), root);
                continue;
            }
            using var copy = p.contiguous();
            collectives.Broadcast(copy, root);
            p.copy_(copy);
        }
    }
}
