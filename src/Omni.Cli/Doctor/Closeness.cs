using static TorchSharp.torch;

namespace Omni.Cli.Doctor;

/// <summary>The golden suites' comparisons, as measurements: the worst error as a share of the allowed error.</summary>
public static class Closeness
{
    /// <summary>
    /// Relative closeness, floored by the tensor's scale (the golden suites' rule):
    /// <c>|a − e| ≤ rtol·(|e| + max|e|)</c>. Returns max over elements of <c>|a − e| / allowed</c>; NaN positions must
    /// coincide (otherwise +∞).
    /// </summary>
    public static double Relative(Tensor actual, Tensor expected, double rtol)
    {
        using var scope = NewDisposeScope();
        if (!actual.shape.SequenceEqual(expected.shape)) return double.PositiveInfinity;
        var a = actual.detach().to(ScalarType.Float64).cpu();
        var e = expected.detach().to(ScalarType.Float64).cpu();
        if ((a.isnan() ^ e.isnan()).any().item<bool>()) return double.PositiveInfinity;
        if (e.numel() == 0) return 0;
        var finite = e.isfinite();
        var scale = e.where(finite, 0.0).abs().max().item<double>();
        var allowed = ((e.abs() + scale) * rtol).clamp_min(double.Epsilon);
        return ((a - e).abs().where(finite, 0.0) / allowed).max().item<double>();
    }

    /// <summary>Absolute closeness: max |a − e| / atol.</summary>
    public static double Absolute(Tensor actual, Tensor expected, double atol)
    {
        using var scope = NewDisposeScope();
        if (!actual.shape.SequenceEqual(expected.shape)) return double.PositiveInfinity;
        var error = (actual.detach().to(ScalarType.Float64).cpu() - expected.detach().to(ScalarType.Float64).cpu()).abs();
        return error.isnan().any().item<bool>() ? double.PositiveInfinity : error.max().item<double>() / atol;
    }
}
