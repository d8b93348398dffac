using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// A denoising network called with keyword arguments, as diffusers transformers are
/// (<c>hidden_states</c>, <c>timestep</c>, <c>encoder_hidden_states</c>, …). Models implement it; adapters build
/// the arguments.
/// </summary>
public interface IDenoiser
{
    /// <summary>Runs the network and returns its prediction (the velocity for flow-matching models).</summary>
    Tensor Forward(ModelInputs inputs);
}

/// <summary>
/// A denoiser that adds behaviour around another one (FSDP's gather before each call, for example). Adapters that need the
/// concrete model (its config, its channel count) look through wrappers with <see cref="DenoiserExtensions.Unwrap"/>.
/// </summary>
public interface IDenoiserWrapper : IDenoiser
{
    /// <summary>The wrapped denoiser.</summary>
    IDenoiser Inner { get; }
}

/// <summary>Helpers on <see cref="IDenoiser"/>.</summary>
public static class DenoiserExtensions
{
    /// <summary>The innermost denoiser under any <see cref="IDenoiserWrapper"/>s.</summary>
    public static IDenoiser Unwrap(this IDenoiser denoiser)
    {
        while (denoiser is IDenoiserWrapper wrapper) denoiser = wrapper.Inner;
        return denoiser;
    }
}
