using System.Collections.Immutable;
using Omni.Algebra.Rewards;
using Omni.Algebra.Rollouts;
using Omni.Reporting.TensorBoard;
using Omni.Tests.Behaviour.Support;
using Omni.Training.Observers;
using Omni.Training.Run;
using Tensorboard;

namespace Omni.Tests.Behaviour.Reporting;

/// <summary>TensorBoard event files, read back by an independent reader: framing and CRCs, scalars, images, histograms.</summary>
public sealed class TensorBoardTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_known_crc32c_check_value_holds()
    {
        // CRC-32C of "123456789" is 0xE3069283 (RFC 3720); the mask is TFRecord's.
        var crc = 0xE3069283u;
        Assert.Equal(((crc >> 15) | (crc << 17)) + 0xa282ead8u, TensorBoardEvents.MaskedCrc32C("123456789"u8));
    }

    [Fact]
    public void Scalars_read_back_with_their_tags_steps_and_values_in_valid_records()
    {
        var log = TensorBoardLog.Open(_dir.Path);
        for (var step = 0; step < 3; step++)
            log.Scalars(step, new Dictionary<string, double> { ["reward/mean"] = 0.25 * step, ["actor/kl_loss"] = 1e-3 / (step + 1) });

        var events = TensorBoardEvents.ReadAll(_dir.Path);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal([(0L, 0f), (1L, 0.25f), (2L, 0.5f)], TensorBoardEvents.Scalars(events, "reward/mean"));
        Assert.Equal([(0L, 1e-3f), (1L, 5e-4f), (2L, (float)(1e-3 / 3))], TensorBoardEvents.Scalars(events, "actor/kl_loss"));
    }

    [Fact]
    public void A_flipped_byte_is_caught_by_the_crc()
    {
        var log = TensorBoardLog.Open(_dir.Path);
        log.Scalars(7, new Dictionary<string, double> { ["reward/mean"] = 0.5 });
        var file = Directory.GetFiles(_dir.Path, "events.out.tfevents.*").Single();
        var bytes = File.ReadAllBytes(file);
        bytes[^6] ^= 0x01;   // inside the last record's data
        File.WriteAllBytes(file, bytes);
        Assert.Throws<InvalidDataException>(() => TensorBoardEvents.Read(file));
    }

    [Fact]
    public void An_image_is_a_png_of_the_right_size_and_a_histogram_counts_every_value()
    {
        var log = TensorBoardLog.Open(_dir.Path);
        var pixels = new byte[5 * 4 * 3];
        pixels[0] = 255;
        log.Image("samples", 10, new RgbImage(5, 4, pixels));
        log.Histogram("reward/distribution", 10, [0.1f, 0.2f, 0.2f, 0.9f]);

        var values = TensorBoardEvents.ReadAll(_dir.Path).Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v))).ToList();
        var image = values.Single(v => v.v.Tag == "samples");
        Assert.Equal(10, image.Step);
        Assert.Equal((4, 5), (image.v.Image.Height, image.v.Image.Width));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, image.v.Image.EncodedImageString.Span[..4].ToArray());
        var histogram = values.Single(v => v.v.Tag == "reward/distribution").v.Histo;
        Assert.Equal(4, histogram.Num);
        Assert.Equal(1.4, histogram.Sum, 5);
        Assert.Equal(0.1, histogram.Min, 5);
        Assert.Equal(0.9, histogram.Max, 5);
        Assert.Equal(4, histogram.Bucket.Sum());
    }

    [Fact]
    public void The_observer_writes_every_metric_the_reward_histogram_and_the_grid_every_n_steps()
    {
        var observer = new TensorBoardObserver(_dir.Path, gridEvery: 2, groupSize: 2);
        observer.RunStarting(0, 3);
        var image = new RgbImage(2, 2, new byte[12]);
        for (var step = 0; step < 3; step++)
        {
            var metrics = ImmutableDictionary<string, double>.Empty.Add("reward/mean", step / 10.0).Add("actor/grad_norm", 1 + step);
            observer.StepCompleted(new StepReport(step, 3, metrics, null, new SdeWindow(0, 4)),
                                   new StepSamples([image, image, image, image], ["a", "a", "b", "b"], [0f, 1f, 0.5f, 0.5f]));
        }
        observer.RunFinished(new TrainingSummary(3, 0, false, null));

        var events = TensorBoardEvents.ReadAll(_dir.Path);
        Assert.Equal([(0L, 0f), (1L, 0.1f), (2L, 0.2f)], TensorBoardEvents.Scalars(events, "reward/mean"));
        Assert.Equal([(0L, 1f), (1L, 2f), (2L, 3f)], TensorBoardEvents.Scalars(events, "actor/grad_norm"));
        Assert.Equal([(0L, 4f), (1L, 4f), (2L, 4f)], TensorBoardEvents.Scalars(events, "window_end"));
        var tagged = events.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v.Tag))).ToList();
        Assert.Equal([0L, 1L, 2L], tagged.Where(t => t.Tag == "reward/distribution").Select(t => t.Step));
        Assert.Equal([0L, 2L], tagged.Where(t => t.Tag == "samples").Select(t => t.Step));
    }
}
