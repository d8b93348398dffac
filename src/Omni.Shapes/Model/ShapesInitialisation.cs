using static TorchSharp.torch;

namespace Omni.Shapes.Model;

/// <summary>
/// Seeded weight initialisation for the bundled model (TorchSharp's constructors draw from the global RNG, which
/// Omni never relies on): every matrix and convolution kernel Xavier-normal (std √(2 / (fan_in + fan_out))) and
/// every embedding table N(0, 0.02²), drawn from an explicit generator; biases zero, norm scales one; in the denoiser the adaLN modulations and the output projection start at zero
/// (DiT's adaLN-Zero: every block starts as the identity and the first prediction is zero).
/// </summary>
public static class ShapesInitialisation
{
    /// <summary>The standard deviation of embedding tables (token and position embeddings).</summary>
    public const double EmbeddingStd = 0.02;

    /// <summary>Re-initialises the parameters of <paramref name="module"/> from <paramref name="generator"/>; names matching <paramref name="zeroed"/> become zero.</summary>
    public static void Initialise(nn.Module module, Generator generator, Func<string, bool>? zeroed = null)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            using var scope = NewDisposeScope();
            var isNormScale = name.EndsWith(".weight", StringComparison.Ordinal) && parameter.dim() == 1;
            if (zeroed?.Invoke(name) == true || (parameter.dim() == 1 && !isNormScale)) parameter.zero_();
            else if (isNormScale) parameter.fill_(1f);
            else parameter.copy_(randn(parameter.shape, parameter.dtype, CPU, generator: generator).mul_(StdOf(name, parameter.shape)).to(parameter.device));
        }
    }

    private static double StdOf(string name, long[] shape)
    {
        if (name.Contains("embedding", StringComparison.Ordinal)) return EmbeddingStd;
        var receptive = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        return Math.Sqrt(2.0 / ((shape[0] + shape[1]) * receptive));
    }

    /// <summary>Whether an SD3 transformer parameter starts at zero (adaLN modulations and <c>proj_out</c>).</summary>
    public static bool IsZeroInitialisedInDenoiser(string name) =>
        name.StartsWith("proj_out.", StringComparison.Ordinal)
        || name.StartsWith("norm_out.linear.", StringComparison.Ordinal)
        || name.Contains(".norm1.linear.", StringComparison.Ordinal)
        || name.Contains(".norm1_context.linear.", StringComparison.Ordinal);
}
