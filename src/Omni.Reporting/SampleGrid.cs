using Omni.Algebra.Rewards;
using Omni.Effects.Imaging;

namespace Omni.Reporting;

/// <summary>
/// Sample images tiled into one image, row by row, each upscaled by an integer factor with nearest-neighbour
/// sampling (small model outputs such as 32×32 stay crisp). No captions: text needs fonts, which are not portably
/// present where Omni runs; the images are placed in the order given, so a caption list can be kept alongside.
/// </summary>
public static class SampleGrid
{
    /// <summary>Tiles <paramref name="images"/> (all one size) into a grid. Pure.</summary>
    /// <param name="images">The tiles, in row-major order.</param>
    /// <param name="columns">Tiles per row (a last row may be partly empty).</param>
    /// <param name="padding">Background pixels around and between tiles.</param>
    /// <param name="scale">Integer upscaling factor of each tile.</param>
    /// <param name="background">Grey level of the padding and empty cells.</param>
    /// <exception cref="ArgumentException">No images, mixed sizes, or a non-positive columns/scale or negative padding.</exception>
    public static RgbImage Compose(IReadOnlyList<RgbImage> images, int columns, int padding, int scale = 1, byte background = 255)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("A sample grid needs at least one image.", nameof(images));
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        int w = images[0].Width, h = images[0].Height;
        var odd = images.Select((im, i) => (im, i)).FirstOrDefault(p => p.im.Width != w || p.im.Height != h);
        if (odd.im is not null)
            throw new ArgumentException($"Image {odd.i} is {odd.im.Width}×{odd.im.Height}; every image must be {w}×{h} like image 0.", nameof(images));

        columns = Math.Min(columns, images.Count);
        var rows = (images.Count + columns - 1) / columns;
        int tileW = w * scale, tileH = h * scale;
        int width = padding + columns * (tileW + padding), height = padding + rows * (tileH + padding);
        var pixels = new byte[width * height * 3];
        pixels.AsSpan().Fill(background);
        for (var k = 0; k < images.Count; k++)
        {
            var source = images[k].Pixels.Span;
            int left = padding + (k % columns) * (tileW + padding), top = padding + (k / columns) * (tileH + padding);
            for (var y = 0; y < tileH; y++)
            {
                var sourceRow = source.Slice(y / scale * w * 3, w * 3);
                var target = pixels.AsSpan(((top + y) * width + left) * 3, tileW * 3);
                for (var x = 0; x < tileW; x++)
                    sourceRow.Slice(x / scale * 3, 3).CopyTo(target.Slice(x * 3, 3));
            }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Composes the grid and writes it as a PNG at <paramref name="path"/> (atomically).</summary>
    public static RgbImage Save(string path, IReadOnlyList<RgbImage> images, int columns, int padding, int scale = 1, byte background = 255)
    {
        var grid = Compose(images, columns, padding, scale, background);
        ImageCodecs.SavePng(grid, path);
        return grid;
    }
}
