using Omni.Algebra.Adapters;
using Omni.Algebra.Rollouts;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Support;

/// <summary>
/// A trainable two-layer denoiser over (B, 3, 4, 4) "images" conditioned on the mean prompt embedding: small enough that a
/// whole RL run takes seconds, expressive enough to learn a colour preference.
/// </summary>
public sealed class TinyPolicy : nn.Module, IDenoiser
{
    /// <summary>Image side length.</summary>
    public const int Side = 4;

    private readonly Linear hidden;
    private readonly Linear output;

    public TinyPolicy(int promptWidth, long seed) : base(nameof(TinyPolicy))
    {
        hidden = nn.Linear(3 * Side * Side + 1 + promptWidth, 32);
        output = nn.Linear(32, 3 * Side * Side);
        RegisterComponents();
        // Initialise from an explicit generator, never the global torch RNG, so every test run starts from the same weights.
        var source = Omni.Effects.Random.NoiseSource.Seeded(seed);
        using var noGrad = no_grad();
        foreach (var (_, p) in named_parameters())
        {
            using var draw = source.Draw(p.shape);
            p.copy_(draw * (0.5 / Math.Sqrt(p.shape[^1])));
        }
    }

    /// <summary>When set, forward passes after this many calls return NaN (to test that corrupt outputs never reach the weights).</summary>
    public int? NaNAfterCalls { get; set; }

    /// <summary>Forward passes so far.</summary>
    public int Calls { get; private set; }

    public Tensor Forward(ModelInputs inputs)
    {
        var x = inputs.Tensor("hidden_states");
        var b = x.shape[0];
        var t = inputs.Tensor("timestep").to(ScalarType.Float32).reshape(-1, 1) / 1000f;
        var prompt = inputs.Tensor("encoder_hidden_states").mean([1]);
        // Like the real models, inputs are cast to the weights' dtype (bf16 under bf16-mixed training).
        var features = cat([x.reshape(b, -1), t, prompt], 1).to(hidden.weight!.dtype);
        var v = output.forward(hidden.forward(features).tanh()).reshape(x.shape);
        return ++Calls > NaNAfterCalls ? v * float.NaN : v;
    }

    /// <summary>The rollout adapter for (B, 3, 4, 4) latents, reusing the tiny training adapter.</summary>
    public static RolloutAdapter Rollout { get; } =
        RolloutAdapter.FromTraining(TinyAdapter.Training, context => [context.Request.BatchSize, 3, Side, Side]);

    /// <summary>A copy of every parameter (for bit-exact comparisons).</summary>
    public Dictionary<string, float[]> Snapshot() =>
        named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().data<float>().ToArray());
}
