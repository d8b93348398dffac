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
