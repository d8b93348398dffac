using Omni.Algebra.Rewards;
using Omni.Effects.Imaging;
using Omni.Rewards;

namespace Omni.Tests.Behaviour.Rewards;

public sealed class JpegRewardsTests
{
    private static readonly RgbImage Flat = TestImages.Flat(64, 64, 120, 130, 140);
    private static readonly RgbImage Noise = TestImages.Noise(64, 64, seed: 3);
    private static readonly RewardBatch Batch = RewardBatch.Of([Flat, Noise], ["flat", "noise"]);

    [Fact]
    public async Task Compressibility_prefers_flat_images_and_equals_minus_kB_over_500()
    {
        var scores = await JpegRewards.Compressibility.Score(Batch, CancellationToken.None);
        Assert.Equal("jpeg_compressibility", JpegRewards.Compressibility.Name);
        Assert.True(scores[0] > scores[1], $"flat {scores[0]} should beat noise {scores[1]}");
        Assert.Equal((float)(-ImageCodecs.EncodeJpeg(Flat, 95).Length / 1000.0 / 500.0), scores[0]);
        Assert.Equal((float)(-ImageCodecs.EncodeJpeg(Noise, 95).Length / 1000.0 / 500.0), scores[1]);
    }

    [Fact]
    public async Task Incompressibility_prefers_noise_and_equals_kB()
    {
        var scores = await JpegRewards.Incompressibility.Score(Batch, CancellationToken.None);
        Assert.Equal("jpeg_incompressibility", JpegRewards.Incompressibility.Name);
        Assert.True(scores[1] > scores[0]);
        Assert.Equal((float)(ImageCodecs.EncodeJpeg(Noise, 95).Length / 1000.0), scores[1]);
        // 64×64 noise (12 kB raw) stays several kB even with 4:2:0 chroma subsampling; a flat image is far smaller.
        Assert.InRange(scores[1], 3f, 30f);
        Assert.InRange(scores[0], 0.1f, 2f);
    }
}
