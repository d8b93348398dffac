using Omni.Algebra.Adapters;
using Omni.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Wan;

/// <summary>
/// diffusers' <c>WanTransformer3DModel</c> (text-to-video). As an <see cref="IDenoiser"/> it takes
/// <c>hidden_states</c> (B, C, F, H, W), <c>encoder_hidden_states</c> (B, L, text_dim) and <c>timestep</c> (B,) on the
/// 0–1000 scale, and returns the velocity (B, C_out, F, H, W).
/// </summary>
public sealed class WanTransformer3DModel : Module, IDenoiser, IKeepsFloat32Parts
{
    private readonly Conv3d patch_embedding;
    private readonly WanConditionEmbedder condition_embedder;
    private readonly ModuleList<WanTransformerBlock> blocks;
    private readonly AdaptableLinear proj_out;
    private readonly Parameter scale_shift_table;

    /// <summary>Builds the module tree for <paramref name="config"/>.</summary>
    public WanTransformer3DModel(WanConfig config) : base(nameof(WanTransformer3DModel))
    {
        Config = config;
        var dim = config.InnerDim;
        var p = config.PatchSize;
        patch_embedding = Conv3d(config.InChannels, dim, (p[0], p[1], p[2]), stride: (p[0], p[1], p[2]));
        condition_embedder = new WanConditionEmbedder(dim, config.FreqDim, config.TextDim);
        blocks = new ModuleList<WanTransformerBlock>(Enumerable.Range(0, config.NumLayers)
            .Select(_ => new WanTransformerBlock(dim, config.FfnDim, config.NumAttentionHeads, config.CrossAttnNorm, config.Eps)).ToArray());
        proj_out = new AdaptableLinear(dim, (long)config.OutChannels * p[0] * p[1] * p[2]);
        scale_shift_table = new Parameter(randn(1, 2, dim) / Math.Sqrt(dim));
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public WanConfig Config { get; }

    /// <summary>Recompute each block's activations in the backward pass instead of keeping them. Off by default.</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// Casts the model to <paramref name="dtype"/> but keeps the timestep MLP in float32, as diffusers'
    /// <c>_keep_in_fp32_modules</c> does; the modulation arithmetic runs in float32 in any case.
    /// </summary>
    public void CastTo(ScalarType dtype)
    {
        this.to(dtype);
        condition_embedder.KeepTimeEmbedderInFloat32();
    }

    /// <summary>Predicts the velocity.</summary>
    public Tensor Run(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor timestep)
    {
        using var scope = NewDisposeScope();
        var p = Config.PatchSize;
        var (b, f, h, w) = (hiddenStates.shape[0], hiddenStates.shape[2] / p[0], hiddenStates.shape[3] / p[1], hiddenStates.shape[4] / p[2]);
        var rope = WanRope.Frequencies(Config.AttentionHeadDim, Config.RopeMaxSeqLen, f, h, w, hiddenStates.device);
        var x = PatchEmbed(hiddenStates).flatten(2).transpose(1, 2);
        var (temb, modulation, text) = condition_embedder.Embed(timestep, encoderHiddenStates);
        modulation = modulation.unflatten(1, [6, Config.InnerDim]);
        foreach (var block in blocks)
            x = GradientCheckpointing && training
                // The rotary tables go in as inputs: autograd keeps inputs alive past this method's DisposeScope.
                ? GradientCheckpoint.Run(saved => [block.Forward(saved[0], saved[1], saved[2], (saved[3], saved[4]))], x, text, modulation, rope.Cos, rope.Sin)[0]
                : block.Forward(x, text, modulation, rope);
        var final = (scale_shift_table.to(ScalarType.Float32) + temb.to(ScalarType.Float32).unsqueeze(1)).chunk(2, 1);
        x = (Norms.LayerNorm(x.to(ScalarType.Float32), Config.Eps) * (1 + final[1]) + final[0]).to(x.dtype);
        x = proj_out.forward(x);
        var video = x.reshape(b, f, h, w, p[0], p[1], p[2], -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
            .reshape(b, Config.OutChannels, f * p[0], h * p[1], w * p[2]);
        return video.MoveToOuterDisposeScope();
    }

    // libtorch 2.10's CPU Conv3d in bfloat16 was measured 56% off its float32 result (Conv2d and matmuls are fine), so
    // the patch embedding always runs in float32; it is a tiny share of the model's work.
    private Tensor PatchEmbed(Tensor video)
    {
        using var scope = NewDisposeScope();
        var p = Config.PatchSize;
        var embedded = functional.conv3d(video.to(ScalarType.Float32), patch_embedding.weight!.to(ScalarType.Float32),
            patch_embedding.bias?.to(ScalarType.Float32), strides: [p[0], p[1], p[2]]);
        return embedded.to(video.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Runs the model on keyword arguments; latents and text states are cast to the parameters' dtype.</summary>
    public Tensor Forward(ModelInputs inputs)
    {
        using var scope = NewDisposeScope();
        var dtype = proj_out.Weight.dtype;
        return Run(inputs.Tensor("hidden_states").to(dtype), inputs.Tensor("encoder_hidden_states").to(dtype), inputs.Tensor("timestep"))
            .MoveToOuterDisposeScope();
    }
}

/// <summary>Wan's <c>condition_embedder</c>: timestep MLP, the six-way modulation projection, and the text projection (GELU).</summary>
public sealed class WanConditionEmbedder : Module
{
    private readonly MlpEmbedding time_embedder, text_embedder;
    private readonly AdaptableLinear time_proj;
    private readonly int _freqDim;

    /// <summary>Creates the embedders.</summary>
    public WanConditionEmbedder(long dim, int freqDim, long textDim) : base(nameof(WanConditionEmbedder))
    {
        _freqDim = freqDim;
        time_embedder = new MlpEmbedding(freqDim, dim);
        time_proj = new AdaptableLinear(dim, 6 * dim);
        text_embedder = new MlpEmbedding(textDim, dim, geluTanh: true);
        RegisterComponents();
    }

    /// <summary>Keeps the timestep MLP in float32 whatever the model's dtype, as diffusers' <c>_keep_in_fp32_modules</c>.</summary>
    public void KeepTimeEmbedderInFloat32() => time_embedder.to(ScalarType.Float32);

    /// <summary>(temb (B, D), modulation (B, 6D), projected text).</summary>
    public (Tensor Temb, Tensor Modulation, Tensor Text) Embed(Tensor timestep, Tensor text)
    {
        using var scope = NewDisposeScope();
        var projected = SinusoidalTimesteps.Embed(timestep, _freqDim).to(time_embedder.parameters().First().dtype);
        var temb = time_embedder.forward(projected).to(text.dtype);
        var modulation = time_proj.forward(functional.silu(temb));
        return (temb.MoveToOuterDisposeScope(), modulation.MoveToOuterDisposeScope(), text_embedder.forward(text).MoveToOuterDisposeScope());
    }
}
