using static TorchSharp.torch;

namespace Omni.Models.Common;

/// <summary>
/// diffusers' <c>get_timestep_embedding</c>: frequencies <c>exp(−ln(10000)·k/(half − shift))</c> in float32, the
/// timestep times each frequency, then times the scale, then <c>[sin, cos]</c> (or <c>[cos, sin]</c>).
/// </summary>
public static class SinusoidalTimesteps
{
    /// <summary>Embeds a 1-D tensor of timesteps into (B, <paramref name="dim"/>) float32.</summary>
    public static Tensor Embed(Tensor timesteps, int dim, bool flipSinToCos = true, double downscaleFreqShift = 0, double scale = 1, int maxPeriod = 10000)
    {
        if (timesteps.dim() != 1) throw new ArgumentException($"Timesteps must be 1-D, got ({string.Join(", ", timesteps.shape)}).", nameof(timesteps));
        using var scope = NewDisposeScope();
        var half = dim / 2;
        var exponent = -Math.Log(maxPeriod) * arange(0, half, ScalarType.Float32, timesteps.device);
        exponent = exponent / (half - downscaleFreqShift);
        var frequencies = exponent.exp();
        var angles = timesteps.to(ScalarType.Float32).unsqueeze(1) * frequencies.unsqueeze(0);
        angles = scale * angles;
        var embedding = cat([angles.sin(), angles.cos()], -1);
        if (flipSinToCos) embedding = cat([embedding.narrow(1, half, half), embedding.narrow(1, 0, half)], -1);
        if (dim % 2 == 1) embedding = nn.functional.pad(embedding, [0, 1, 0, 0]);
        return embedding.MoveToOuterDisposeScope();
    }
}
