using System.Text.Json;
using static TorchSharp.torch;

namespace Omni.Effects.Safetensors;

/// <summary>
/// Reads a safetensors file: an 8-byte little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets}}</c> (plus optional <c>__metadata__</c>), then raw
/// little-endian data. The header is validated up front (sizes, offsets inside the data, byte counts
/// matching shapes, known dtypes); tensors are read one at a time from the open file.
/// </summary>
public sealed class SafetensorsFile : ITensorSource
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Stream _stream;
    private readonly long _dataStart;

    private SafetensorsFile(string path, Stream stream, long dataStart,
                            IReadOnlyDictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _stream = stream;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file's path (or the name a stream was opened under).</summary>
    public string Path { get; }

    /// <summary>Every tensor's header entry, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> strings, if any.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a file; throws <see cref="SafetensorsException"/> naming the file and the problem.</summary>
    public static SafetensorsFile Open(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException($"Cannot open safetensors file '{path}': {e.Message}", e);
        }
        return Open(stream, path);
    }

    /// <summary>
    /// Reads safetensors data from a seekable <paramref name="stream"/> (a file, an embedded resource, a buffer), which the
    /// result owns and disposes; messages call it <paramref name="name"/>. Throws <see cref="SafetensorsException"/> for
    /// anything that is not a valid file, and allocates nothing for a declared header it has not checked against the data.
    /// </summary>
    public static SafetensorsFile Open(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead)
        {
            stream.Dispose();
            throw new ArgumentException($"Safetensors data '{name}' must come from a readable, seekable stream.", nameof(stream));
        }
        try
        {
            var (dataStart, entries, metadata) = ReadHeader(name, stream);
            return new SafetensorsFile(name, stream, dataStart, entries, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the tensor <paramref name="name"/> into a new CPU tensor (cast to <paramref name="dtype"/> when given).
    /// The bytes go straight from the file into the tensor's memory in chunks, so even tensors over 2 GB are read
    /// without an intermediate copy of the file.
    /// </summary>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        if (!Entries.TryGetValue(name, out var entry))
            throw new SafetensorsException($"'{Path}' has no tensor named '{name}'.");
        var result = empty(entry.Shape, entry.DType);
        var length = entry.End - entry.Begin;
        if (length > 0)
        {
            _stream.Seek(_dataStart + entry.Begin, SeekOrigin.Begin);
            ReadInto(result, length);
        }
        if (dtype is not { } target || target == entry.DType) return result;
        var cast = result.to(target);
        result.Dispose();
        return cast;
    }

    private unsafe void ReadInto(Tensor destination, long length)
    {
        const int chunk = 1 << 30;
        var start = (byte*)NativeTensor.DataPointer(destination);
        for (long done = 0; done < length; done += chunk)
        {
            var count = (int)Math.Min(chunk, length - done);
            var read = _stream.ReadAtLeast(new Span<byte>(start + done, count), count, throwOnEndOfStream: false);
            if (read < count) throw new SafetensorsException($"'{Path}' ended while reading tensor data (truncated file?).");
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();

    private static (long, Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ReadHeader(string path, Stream stream)
    {
        stream.Position = 0;
        var length = stream.Length;
        if (length < 8) throw new SafetensorsException($"'{path}' is too short ({length} bytes) to be a safetensors file.");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BitConverter.ToInt64(prefix);
        if (headerLength < 2 || headerLength > MaxHeaderBytes || headerLength > length - 8)
            throw new SafetensorsException($"'{path}' declares a header of {headerLength} bytes, but the file has {length - 8} bytes after the length prefix.");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var dataStart = 8 + headerLength;
        var dataLength = length - dataStart;

        try { _ = StrictUtf8.GetCharCount(headerBytes); }
        catch (System.Text.DecoderFallbackException e) { throw new SafetensorsException($"'{path}' has a header that is not valid UTF-8: {e.Message}", e); }
        JsonDocument document;
        try { document = JsonDocument.Parse(headerBytes); }
        catch (JsonException e) { throw new SafetensorsException($"'{path}' has a malformed JSON header: {e.Message}", e); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException($"'{path}' has a header that is not a JSON object.");
            var entries = new Dictionary<string, SafetensorsEntry>();
            var metadata = new Dictionary<string, string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in property.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (entries.ContainsKey(property.Name))
                    throw new SafetensorsException($"'{path}' lists the tensor '{property.Name}' twice.");
                entries[property.Name] = ParseEntry(path, property.Name, property.Value, dataLength);
            }
            var ordered = entries.Values.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
            for (var i = 1; i < ordered.Count; i++)
                if (ordered[i].Begin < ordered[i - 1].End)
                    throw new SafetensorsException($"'{path}': the data of '{ordered[i - 1].Name}' [{ordered[i - 1].Begin}, {ordered[i - 1].End}) and '{ordered[i].Name}' [{ordered[i].Begin}, {ordered[i].End}) overlap.");
            return (dataStart, entries, metadata);
        }
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        string Where() => $"'{path}', tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new SafetensorsException($"{Where()}: an entry needs a string 'dtype', an array 'shape' and two 'data_offsets'.");
        var (dtype, elementSize) = DTypes.Parse(dtypeElement.GetString()!)
            ?? throw new SafetensorsException($"{Where()}: unknown dtype '{dtypeElement.GetString()}'.");
        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var size) || size < 0)
                throw new SafetensorsException($"{Where()}: shape entries must be non-negative integers, got {shapeElement.GetRawText()}.");
            shape[i++] = size;
        }
        var offsets = offsetsElement.EnumerateArray().Select(o =>
            o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out var v) ? v : -1).ToArray();
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin || end > dataLength)
            throw new SafetensorsException($"{Where()}: data offsets [{begin}, {end}) lie outside the {dataLength}-byte data section.");
        long elements;
        try { elements = shape.Aggregate(1L, (a, b) => checked(a * b)); }
        catch (OverflowException) { throw new SafetensorsException($"{Where()}: shape {shapeElement.GetRawText()} is too large."); }
        if (end - begin != elements * elementSize)
            throw new SafetensorsException($"{Where()}: shape {shapeElement.GetRawText()} of {dtypeElement.GetString()} needs {elements * elementSize} bytes, but the offsets span {end - begin}.");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }
}
