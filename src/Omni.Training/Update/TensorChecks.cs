using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>Guards that keep corrupt values away from the weights.</summary>
internal static class TensorChecks
{
    /// <summary>True when every element of <paramref name="t"/> is finite (one host read; temporaries freed here).</summary>
    public static bool AllFinite(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().isfinite().all().item<bool>();
    }

    /// <summary>True when every element of every tensor is finite, with one host read for all of them.</summary>
    public static bool AllFinite(IEnumerable<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        var flags = tensors.Select(t => t.detach().isfinite().all().reshape(1)).ToArray();
        return flags.Length == 0 || cat(flags).all().cpu().item<bool>();
    }

    /// <summary>A 0-d device flag, true when some element of <paramref name="t"/> is not finite (nothing is read).</summary>
    public static Tensor NonFinite(Tensor t) => t.detach().isfinite().all().logical_not();
}
