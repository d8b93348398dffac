using Omni.Models.Common;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Sd3;

/// <summary>
/// diffusers' <c>CombinedTimestepTextProjEmbeddings</c>: the sinusoidal embedding of t (256 channels, cos first,
/// t on the 0–1000 scale) through <c>timestep_embedder</c>, plus <c>text_embedder</c> of the pooled text embedding.
/// </summary>
public sealed class TimestepTextEmbedding : Module<Tensor, Tensor, Tensor>
{
    private readonly MlpEmbedding timestep_embedder;
    private readonly MlpEmbedding text_embedder;

    /// <summary>Creates both embedders for width <paramref name="dim"/>.</summary>
    public TimestepTextEmbedding(long dim, long pooledDim) : base(nameof(TimestepTextEmbedding))
    {
        timestep_embedder = new MlpEmbedding(256, dim);
        text_embedder = new MlpEmbedding(pooledDim, dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor timestep, Tensor pooled)
    {
        using var scope = NewDisposeScope();
        var projected = SinusoidalTimesteps.Embed(timestep, 256).to(pooled.dtype);
        return (timestep_embedder.forward(projected) + text_embedder.forward(pooled)).MoveToOuterDisposeScope();
    }
}
