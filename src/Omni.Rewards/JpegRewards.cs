using Omni.Algebra.Rewards;
using Omni.Effects.Imaging;

namespace Omni.Rewards;

/// <summary>
/// The reference's JPEG rewards (DDPO / FlowGRPO <c>jpeg_compressibility</c>): encode each uint8 image as a JPEG at
/// quality 95 and measure its size in kB (bytes / 1000). <b>Compressibility</b> is −kB/500 (smaller files score
/// higher); <b>incompressibility</b> is kB. The encoder is Skia's libjpeg-turbo with 4:2:0 chroma subsampling, not
/// PIL's, so absolute sizes differ from the Python reference's by a few percent: values compare within Omni only.
/// </summary>
public static class JpegRewards
{
    /// <summary>The JPEG quality the reference encodes at.</summary>
    public const int Quality = 95;

    /// <summary>Rewards small JPEG files: −(size in kB)/500, named <c>jpeg_compressibility</c>.</summary>
    public static RewardFunction Compressibility { get; } =
        RewardFunction.PerSample("jpeg_compressibility", (image, _, _) => (float)(-SizeKilobytes(image) / 500.0));

    /// <summary>Rewards large JPEG files: size in kB, named <c>jpeg_incompressibility</c>.</summary>
    public static RewardFunction Incompressibility { get; } =
        RewardFunction.PerSample("jpeg_incompressibility", (image, _, _) => (float)SizeKilobytes(image));

    /// <summary>The size in kB (bytes / 1000) of <paramref name="image"/> encoded as a quality-95 JPEG.</summary>
    public static double SizeKilobytes(RgbImage image) => ImageCodecs.EncodeJpeg(image, Quality).Length / 1000.0;
}
