namespace Omni.Algebra.Devices;

/// <summary>
/// How closely a device must reproduce the float32 golden reference (tests/Golden/Fixtures/README.md). The CPU values are
/// the reference's own precision. CUDA kernels round differently (other reduction orders, fused multiply-adds, 1–2 ulp
/// transcendental functions; TF32 is off for parity runs), so CUDA has wider, separately written bounds. Random draws are
/// always bit-exact: noise is drawn on the CPU on every device.
/// </summary>
/// <param name="Elementwise">Relative tolerance of schedules and element-wise step outputs.</param>
/// <param name="Reduced">Relative tolerance of log-probabilities, losses and gradients.</param>
/// <param name="ModelAbsolute">Absolute tolerance of model outputs in float32.</param>
public sealed record ParityTolerances(double Elementwise, double Reduced, double ModelAbsolute)
{
    /// <summary>The CPU: float32 rounding (1e-6), 1e-5 for reductions, 1e-4 absolute for model outputs.</summary>
    public static ParityTolerances Cpu { get; } = new(1e-6, 1e-5, 1e-4);

    /// <summary>
    /// CUDA (TF32 off): 2e-5 element-wise (dance_sde amplifies a 1–2 ulp difference about 27-fold at the last step),
    /// 5e-5 for reductions, 2e-4 absolute for model outputs. Stated bounds, not yet confirmed on a GPU: the device check
    /// records the largest error it saw as a share of each bound.
    /// </summary>
    public static ParityTolerances Cuda { get; } = new(2e-5, 5e-5, 2e-4);

    /// <summary>The tolerances of a device type.</summary>
    public static ParityTolerances For(TorchSharp.DeviceType device) => device == TorchSharp.DeviceType.CUDA ? Cuda : Cpu;
}
