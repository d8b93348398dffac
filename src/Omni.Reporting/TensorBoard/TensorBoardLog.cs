using Omni.Algebra.Rewards;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Reporting.TensorBoard;

/// <summary>
/// TensorBoard event files in one folder (<c>tensorboard --logdir &lt;folder or its parent&gt;</c>), written through
/// TorchSharp's <c>torch.utils.tensorboard.SummaryWriter</c>: scalars, images and histograms, each tagged and stamped with
/// the training step. Every event is appended and flushed as it is written. A resumed run opens a new event file;
/// TensorBoard drops the earlier file's events from the resume step on when it sees the step go back.
/// </summary>
public sealed class TensorBoardLog
{
    private readonly TorchSharp.Modules.SummaryWriter _writer;

    private TensorBoardLog(TorchSharp.Modules.SummaryWriter writer) => _writer = writer;

    /// <summary>The folder holding the event files.</summary>
    public string Directory => _writer.LogDir;

    /// <summary>Starts a new event file (<c>events.out.tfevents.*</c>) in <paramref name="directory"/>, creating it.</summary>
    public static TensorBoardLog Open(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return new TensorBoardLog(torch.utils.tensorboard.SummaryWriter(Path.GetFullPath(directory)));
    }

    /// <summary>One scalar event per metric (TensorBoard groups the tags by their prefix before '/', e.g. <c>reward/mean</c>).</summary>
    public void Scalars(int step, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        foreach (var (tag, value) in metrics)
            _writer.add_scalar(tag, (float)value, step);
    }

    /// <summary>An image (PNG-encoded by the writer).</summary>
    public void Image(string tag, int step, RgbImage image)
    {
        using var scope = NewDisposeScope();
        var pixels = tensor(image.Pixels.ToArray(), ScalarType.Byte).reshape(image.Height, image.Width, 3);
        _writer.add_img(tag, pixels, step, dataformats: "HWC");
    }

    /// <summary>A histogram of <paramref name="values"/> (TensorFlow's default exponential buckets); nothing for no values.</summary>
    public void Histogram(string tag, int step, IReadOnlyCollection<float> values)
    {
        if (values.Count == 0) return;
        using var scope = NewDisposeScope();
        _writer.add_histogram(tag, tensor(values.ToArray()), step);
    }
}
