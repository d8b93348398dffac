using Xunit.Sdk;
using static TorchSharp.torch;

namespace Omni.Tests.Golden.Infrastructure;

/// <summary>Comparisons against reference tensors, with a report of the worst element on failure.</summary>
public static class TensorAssert
{
    /// <summary>Schedules and element-wise step outputs: float32 rounding (1e-6) on the CPU; the CUDA bound on CUDA.</summary>
    public static double Elementwise => TestDevice.Tolerances.Elementwise;

    /// <summary>Log-probabilities, losses and gradients: 1e-5 on the CPU; the CUDA bound on CUDA.</summary>
    public static double Reduced => TestDevice.Tolerances.Reduced;

    /// <summary>
    /// Asserts <c>|actual − expected| ≤ rtol·(|expected| + max|expected|)</c> element by element: a
    /// relative tolerance on each element, floored by the same relative tolerance of the tensor's scale
    /// so that values produced by cancellation near zero are judged on the scale they were computed at.
    /// Shapes must match exactly; NaNs must coincide.
    /// </summary>
    public static void Close(Tensor actual, Tensor expected, double rtol, string what)
    {
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new XunitException($"{what}: shape ({string.Join(", ", actual.shape)}) differs from the reference ({string.Join(", ", expected.shape)}).");
        using var scope = NewDisposeScope();
        var a = actual.detach().to(ScalarType.Float64).cpu();
        var e = expected.detach().to(ScalarType.Float64).cpu();
        var nanMismatch = (a.isnan() ^ e.isnan()).any().item<bool>();
        if (nanMismatch) throw new XunitException($"{what}: NaN positions differ from the reference.");
        var finite = e.isfinite();
        var scale = e.numel() == 0 ? 0.0 : e.where(finite, 0.0).abs().max().item<double>();
        var error = (a - e).abs().where(finite, 0.0);
        var allowed = (e.abs() + scale) * rtol;
        var excess = (error - allowed).flatten();
        if (excess.numel() == 0) return;
        var worst = excess.argmax().item<long>();
        if (excess[worst].item<double>() > 0)
        {
            var ef = e.flatten(); var af = a.flatten();
            throw new XunitException(
                $"{what}: element {worst} is {af[worst].item<double>():R}, reference {ef[worst].item<double>():R} " +
                $"(|error| {error.flatten()[worst].item<double>():E3} > allowed {allowed.flatten()[worst].item<double>():E3}; rtol {rtol}, tensor scale {scale:E3}).");
        }
        var infinite = e.isinf();
        if (infinite.any().item<bool>() && !a.masked_select(infinite).equal(e.masked_select(infinite)).all().item<bool>())
            throw new XunitException($"{what}: infinite values differ from the reference.");
    }

    /// <summary>Model outputs: absolute tolerance in float32 (golden README: about 1e-4 on the CPU; the CUDA bound on CUDA).</summary>
    public static double ModelAbsolute => TestDevice.Tolerances.ModelAbsolute;

    /// <summary>Asserts <c>|actual − expected| ≤ atol</c> everywhere, reporting the worst element.</summary>
    public static void AbsolutelyClose(Tensor actual, Tensor expected, double atol, string what)
    {
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new XunitException($"{what}: shape ({string.Join(", ", actual.shape)}) differs from the reference ({string.Join(", ", expected.shape)}).");
        using var scope = NewDisposeScope();
        var error = (actual.detach().to(ScalarType.Float64).cpu() - expected.to(ScalarType.Float64).cpu()).abs().flatten();
        if (error.isnan().any().item<bool>()) throw new XunitException($"{what}: NaN where the reference has a number.");
        var worst = error.argmax().item<long>();
        var max = error[worst].item<double>();
        if (max > atol)
            throw new XunitException($"{what}: element {worst} differs by {max:E3} > {atol:E1} (actual {actual.flatten()[worst].item<float>():R}, reference {expected.flatten()[worst].item<float>():R}).");
    }

    /// <summary>Asserts that two tensors are bit-identical (same dtype, shape and bytes).</summary>
    public static void Identical(Tensor actual, Tensor expected, string what)
    {
        if (actual.dtype != expected.dtype)
            throw new XunitException($"{what}: dtype {actual.dtype} differs from the reference {expected.dtype}.");
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new XunitException($"{what}: shape ({string.Join(", ", actual.shape)}) differs from the reference ({string.Join(", ", expected.shape)}).");
        var ab = actual.cpu().contiguous().bytes.ToArray();
        var eb = expected.cpu().contiguous().bytes.ToArray();
        if (!ab.AsSpan().SequenceEqual(eb))
        {
            var first = Enumerable.Range(0, ab.Length).First(i => ab[i] != eb[i]);
            throw new XunitException($"{what}: not bit-identical to the reference (first differing byte {first} of {ab.Length}).");
        }
    }
}
