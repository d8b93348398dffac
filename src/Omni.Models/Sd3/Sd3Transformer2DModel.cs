using Omni.Algebra.Adapters;
using Omni.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Sd3;

/// <summary>
/// diffusers' <c>SD3Transformer2DModel</c> (SD3 and SD3.5: dual-attention layers, RMS qk-norm, the pre-only last
/// block, any patch size). Parameter names are diffusers' state-dict keys, so checkpoints load without renaming.
/// As an <see cref="IDenoiser"/> it takes <c>hidden_states</c> (B, C, H, W), <c>encoder_hidden_states</c> (B, L, J),
/// <c>pooled_projections</c> (B, P) and <c>timestep</c> (B,) on the 0–1000 scale, and optionally <c>skip_layers</c>.
/// </summary>
public sealed class Sd3Transformer2DModel : Module<Tensor, Tensor, Tensor, Tensor, Tensor>, IDenoiser
{
    private readonly PatchEmbed pos_embed;
    private readonly TimestepTextEmbedding time_text_embed;
    private readonly AdaptableLinear context_embedder;
    private readonly ModuleList<JointTransformerBlock> transformer_blocks;
    private readonly AdaLayerNormContinuous norm_out;
    private readonly AdaptableLinear proj_out;

    /// <summary>Builds the module tree for <paramref name="config"/> (weights as initialised by TorchSharp).</summary>
    public Sd3Transformer2DModel(Sd3Config config) : base(nameof(Sd3Transformer2DModel))
    {
        Config = config;
        var dim = config.InnerDim;
        pos_embed = new PatchEmbed(config.InChannels, dim, config.PatchSize, config.PosEmbedMaxSize, config.SampleSize / config.PatchSize);
        time_text_embed = new TimestepTextEmbedding(dim, config.PooledProjectionDim);
        context_embedder = new AdaptableLinear(config.JointAttentionDim, config.CaptionProjectionDim);
        transformer_blocks = new ModuleList<JointTransformerBlock>(Enumerable.Range(0, config.NumLayers).Select(i =>
            new JointTransformerBlock(dim, config.NumAttentionHeads, contextPreOnly: i == config.NumLayers - 1,
                dualAttention: config.DualAttentionLayers.Contains(i), rmsQkNorm: config.QkNorm == "rms_norm")).ToArray());
        norm_out = new AdaLayerNormContinuous(dim, dim);
        proj_out = new AdaptableLinear(dim, (long)config.PatchSize * config.PatchSize * config.OutputChannels);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public Sd3Config Config { get; }

    /// <summary>
    /// Recompute each block's activations in the backward pass instead of keeping them (about one extra forward of
    /// compute for a block's worth of activation memory). Off by default.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Predicts the velocity (B, C_out, H, W).</summary>
    public override Tensor forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep) =>
        Run(hiddenStates, encoderHiddenStates, pooledProjections, timestep, []);

    /// <summary>Predicts the velocity, skipping the blocks in <paramref name="skipLayers"/> (skip-layer guidance).</summary>
    public Tensor Run(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep, IReadOnlyCollection<int> skipLayers)
    {
        using var scope = NewDisposeScope();
        var (batch, height, width) = (hiddenStates.shape[0], hiddenStates.shape[2], hiddenStates.shape[3]);
        var x = pos_embed.forward(hiddenStates);
        var temb = time_text_embed.forward(timestep, pooledProjections);
        var context = context_embedder.forward(encoderHiddenStates);
        for (var i = 0; i < transformer_blocks.Count; i++)
        {
            if (skipLayers.Contains(i)) continue;
            var block = transformer_blocks[i];
            if (GradientCheckpointing && training)
            {
                var outputs = GradientCheckpoint.Run(inputs =>
                {
                    var (image, next) = block.forward(inputs[0], inputs[1], inputs[2]);
                    return next is null ? [image] : [image, next];
                }, x, context, temb);
                x = outputs[0];
                if (outputs.Length > 1) context = outputs[1];
            }
            else
            {
                var (image, nextContext) = block.forward(x, context, temb);
                x = image;
                if (nextContext is not null) context = nextContext;
            }
        }
        x = proj_out.forward(norm_out.forward(x, temb));
        var p = Config.PatchSize;
        var (h, w) = (height / p, width / p);
        // Tokens carry (py, px, c) with c fastest; reassemble the (C, h·p, w·p) image.
        var image2d = x.reshape(batch, h, w, p, p, Config.OutputChannels)
            .permute(0, 5, 1, 3, 2, 4)
            .reshape(batch, Config.OutputChannels, h * p, w * p);
        return image2d.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs the model on keyword arguments; latents and embeddings are cast to the parameters' dtype (rollouts keep
    /// float32 latents and run the model in bf16/fp16), the timestep stays as given.
    /// </summary>
    public Tensor Forward(ModelInputs inputs)
    {
        using var scope = NewDisposeScope();
        var dtype = proj_out.Weight.dtype;
        return Run(inputs.Tensor("hidden_states").to(dtype), inputs.Tensor("encoder_hidden_states").to(dtype),
            inputs.Tensor("pooled_projections").to(dtype), inputs.Tensor("timestep"),
            inputs.Get<IReadOnlyCollection<int>>("skip_layers") ?? []).MoveToOuterDisposeScope();
    }
}
