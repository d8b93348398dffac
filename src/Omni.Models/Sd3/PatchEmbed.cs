using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Sd3;

/// <summary>
/// diffusers' <c>PatchEmbed</c> as SD3 uses it: a p×p stride-p convolution (<c>proj</c>), tokens in row-major
/// order, plus the positional table (<c>pos_embed</c>, a persistent buffer of M² rows) cropped and centred to the
/// latent's patch grid.
/// </summary>
public sealed class PatchEmbed : Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly Tensor pos_embed;
    private readonly long _maxSize;

    /// <summary>Creates the embedding; the positional table starts as diffusers' 2-D sin-cos table.</summary>
    public PatchEmbed(long inChannels, long dim, long patchSize, long maxSize, long baseSize) : base(nameof(PatchEmbed))
    {
        _maxSize = maxSize;
        proj = Conv2d(inChannels, dim, patchSize, stride: patchSize);
        pos_embed = SinCosTable(dim, maxSize, baseSize);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var patches = proj.forward(latents);
        var (h, w) = (patches.shape[2], patches.shape[3]);
        if (h > _maxSize || w > _maxSize)
            throw new ArgumentException($"The latent's patch grid {h}×{w} exceeds pos_embed_max_size {_maxSize}.");
        var tokens = patches.flatten(2).transpose(1, 2);
        var (top, left) = ((_maxSize - h) / 2, (_maxSize - w) / 2);
        var table = pos_embed.reshape(1, _maxSize, _maxSize, -1).narrow(1, top, h).narrow(2, left, w).reshape(1, h * w, -1);
        return (tokens + table).to(latents.dtype).MoveToOuterDisposeScope();
    }

    // get_2d_sincos_pos_embed: coordinates i / (grid / base) in float32, frequencies in float64, column first.
    private static Tensor SinCosTable(long dim, long grid, long baseSize)
    {
        var quarter = dim / 4;
        var omega = Enumerable.Range(0, (int)quarter).Select(k => 1.0 / Math.Pow(10000, k / (double)quarter)).ToArray();
        var coordinate = Enumerable.Range(0, (int)grid).Select(i => (double)((float)i / ((float)grid / baseSize))).ToArray();
        var table = new float[grid * grid * dim];
        for (var i = 0; i < grid; i++)
        for (var j = 0; j < grid; j++)
        {
            var offset = (i * grid + j) * dim;
            for (var k = 0; k < quarter; k++)
            {
                table[offset + k] = (float)Math.Sin(coordinate[j] * omega[k]);
                table[offset + quarter + k] = (float)Math.Cos(coordinate[j] * omega[k]);
                table[offset + 2 * quarter + k] = (float)Math.Sin(coordinate[i] * omega[k]);
                table[offset + 3 * quarter + k] = (float)Math.Cos(coordinate[i] * omega[k]);
            }
        }
        return tensor(table, [1, grid * grid, dim]);
    }
}
