using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Shapes.Model;

/// <summary>
/// The bundled model's text encoder: token embeddings over the shapes vocabulary plus learned positions, a few
/// pre-norm transformer layers with a key-padding mask, a final LayerNorm (<c>prompt_embeds</c> (B, L, D)), and a
/// linear projection of the masked mean over the words (<c>pooled</c> (B, P)). The empty prompt (all padding, the
/// unconditional input of classifier-free guidance) pools over its padding instead, so it has a learned embedding
/// of its own. Padding never changes what a word sees, so a prompt encodes the same at any padded length.
/// </summary>
public sealed class ShapesTextEncoder : Module<Tensor, (Tensor PromptEmbeds, Tensor Pooled)>
{
    private const float MaskedBias = -1e9f;

    private readonly Embedding token_embedding;
    private readonly Parameter position_embedding;
    private readonly ModuleList<TextEncoderLayer> layers;
    private readonly LayerNorm final_layer_norm;
    private readonly Linear pooled_projection;

    /// <summary>Builds the module for <paramref name="config"/> (weights as TorchSharp initialises them; see <see cref="ShapesInitialisation"/>).</summary>
    /// <exception cref="ArgumentException">The configuration is not usable.</exception>
    public ShapesTextEncoder(ShapesTextEncoderConfig config) : base(nameof(ShapesTextEncoder))
    {
        if (config.Problems() is { Count: > 0 } problems)
            throw new ArgumentException($"The text encoder configuration is not usable: {string.Join(" ", problems)}", nameof(config));
        Config = config;
        token_embedding = Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = new Parameter(zeros(config.MaxPositionEmbeddings, config.HiddenSize));
        layers = new ModuleList<TextEncoderLayer>(Enumerable.Range(0, config.NumHiddenLayers)
            .Select(_ => new TextEncoderLayer(config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize, config.LayerNormEps)).ToArray());
        final_layer_norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        pooled_projection = Linear(config.HiddenSize, config.ProjectionDim);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public ShapesTextEncoderConfig Config { get; }

    /// <summary>Encodes token ids (B, L) (int64, L ≤ max_position_embeddings) into (B, L, D) states and (B, P) pooled embeddings.</summary>
    /// <exception cref="ArgumentException">The ids are not (B, L) with L within the learned positions.</exception>
    public override (Tensor PromptEmbeds, Tensor Pooled) forward(Tensor ids)
    {
        if (ids.dim() != 2 || ids.shape[1] < 1 || ids.shape[1] > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"Token ids must be (B, L) with 1 ≤ L ≤ {Config.MaxPositionEmbeddings}; got ({string.Join(", ", ids.shape)}).", nameof(ids));
        using var scope = NewDisposeScope();
        var length = ids.shape[1];
        var tokens = ids.to(ScalarType.Int64);
        var words = tokens.ne(Config.PadTokenId);                                       // (B, L)
        var keyBias = where(words, 0f, MaskedBias).to(position_embedding.dtype).view(ids.shape[0], 1, 1, length);
        var x = token_embedding.forward(tokens) + position_embedding.narrow(0, 0, length).unsqueeze(0);
        foreach (var layer in layers) x = layer.forward(x, keyBias);
        x = final_layer_norm.forward(x);
        // Pool over the words; a row without words (the empty prompt) pools over its padding.
        var hasWords = words.any(1, keepdim: true);
        var weights = where(hasWords, words, ones_like(words)).to(x.dtype).unsqueeze(-1);   // (B, L, 1)
        var pooled = pooled_projection.forward((x * weights).sum(1) / weights.sum(1));
        return (x.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }
}
