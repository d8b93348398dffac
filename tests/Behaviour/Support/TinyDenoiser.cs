using Omni.Algebra.Adapters;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Support;

/// <summary>
/// A tiny velocity model over (B, S, C) latents: <c>v = tanh(x·W) + (t/1000)·b + mean_L(prompt)·P</c>, with
/// weights drawn from a seeded generator. Small enough to run a whole rollout in milliseconds, rich enough that
/// the prediction depends on the latent, the timestep and the prompt.
/// </summary>
public sealed class TinyDenoiser : IDenoiser, IDisposable
{
    private readonly Tensor _w, _b, _p;

    public TinyDenoiser(int channels, int promptWidth, long seed = 7)
    {
        var source = NoiseSource.Seeded(seed);
        _w = source.Draw([channels, channels]) * (0.5 / Math.Sqrt(channels));
        _b = source.Draw([channels]) * 0.1;
        _p = source.Draw([promptWidth, channels]) * 0.1;
    }

    public int Calls { get; private set; }

    public Tensor Forward(ModelInputs inputs)
    {
        Calls++;
        var x = inputs.Tensor("hidden_states");
        var t = inputs.Tensor("timestep").to(ScalarType.Float32).reshape(-1, 1, 1) / 1000f;
        var prompt = inputs.Tensor("encoder_hidden_states").mean([1], keepdim: true);
        return matmul(x, _w).tanh() + t * _b + matmul(prompt, _p);
    }

    public void Dispose()
    {
        _w.Dispose();
        _b.Dispose();
        _p.Dispose();
    }
}
