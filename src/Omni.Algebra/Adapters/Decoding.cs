using static TorchSharp.torch;

namespace Omni.Algebra.Adapters;

/// <summary>
/// How an architecture turns the final latents of a rollout into what its rewards score, chosen by
/// <see cref="TrainingAdapter.BuildDecoder"/>. The trainer decodes once per rollout chunk, with this, and only when a
/// decoder exists: rollouts themselves never decode.
/// </summary>
public abstract record Decoding
{
    private Decoding() { }

    /// <summary>The folder's VAE (<c>vae/config.json</c>; Omni loads diffusers' <c>AutoencoderKL</c>). The default.</summary>
    public static Decoding FolderVae { get; } = new FromFolder();

    /// <summary>No decoder: rewards score the final latents (<see cref="Omni.Algebra.Rewards.RewardBatch.Latents"/>) and get no images.</summary>
    public static Decoding None { get; } = new Latents();

    /// <summary>The architecture's own decoder: final latents → images (B, 3, H, W) in [0, 1].</summary>
    public static Decoding With(Func<Tensor, Tensor> decode) => new Custom(decode ?? throw new ArgumentNullException(nameof(decode)));

    /// <summary>The folder's VAE.</summary>
    public sealed record FromFolder : Decoding;

    /// <summary>No decoding.</summary>
    public sealed record Latents : Decoding;

    /// <summary>A decoder function.</summary>
    /// <param name="Decode">Final latents → images (B, 3, H, W) in [0, 1].</param>
    public sealed record Custom(Func<Tensor, Tensor> Decode) : Decoding;
}
