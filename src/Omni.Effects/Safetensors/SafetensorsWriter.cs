using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>
/// Writes tensors as a safetensors file: keys in ordinal order, the JSON header padded with spaces to a multiple of 8
/// bytes, raw little-endian data copied straight from each tensor's memory. The file appears atomically: it is
/// written beside the target under a temporary name, then renamed.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (any device; copied to the CPU as needed) to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            var dtype = DTypes.Name(t.dtype) ?? throw new ArgumentException($"Tensor '{name}' has dtype {t.dtype}, which safetensors cannot store.", nameof(tensors));
            var bytes = t.numel() * t.ElementSize;
            header[name] = new { dtype, shape = t.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var padded = (json.Length + 7) / 8 * 8;

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(BitConverter.GetBytes((long)padded));
                stream.Write(json);
                for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
                foreach (var name in names) WriteData(stream, tensors[name]);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    private static unsafe void WriteData(Stream stream, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var host = tensor.detach().cpu().contiguous();
        var length = host.numel() * host.ElementSize;
        if (length == 0) return;
        var start = (byte*)NativeTensor.DataPointer(host);
        const int chunk = 1 << 30;
        for (long done = 0; done < length; done += chunk)
            stream.Write(new ReadOnlySpan<byte>(start + done, (int)Math.Min(chunk, length - done)));
    }
}
