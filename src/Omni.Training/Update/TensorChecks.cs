using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>Guards that keep corrupt values away from the weights.</summary>
internal static class TensorChecks
{
    /// <summary>True when every element of <paramref name="t"/> is finite (temporaries freed here).</summary>
    public static bool AllFinite(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().isfinite().all().item<bool>();
    }
}
