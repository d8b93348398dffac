using static TorchSharp.torch;

namespace Omni.Models.Common;

/// <summary>Parameter-free normalisations shared by the transformers.</summary>
public static class Norms
{
    /// <summary>LayerNorm over the last dimension without affine parameters (diffusers' <c>elementwise_affine=False</c>).</summary>
    public static Tensor LayerNorm(Tensor x, double eps = 1e-6) => nn.functional.layer_norm(x, [x.shape[^1]], null, null, eps);

    /// <summary><c>x·(1 + scale) + shift</c> with (B, D) modulation broadcast over tokens.</summary>
    public static Tensor Modulate(Tensor normalized, Tensor shift, Tensor scale) =>
        normalized * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}
