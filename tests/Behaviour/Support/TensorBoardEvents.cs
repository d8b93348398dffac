using Tensorboard;

namespace Omni.Tests.Behaviour.Support;

/// <summary>
/// Reads TensorBoard event files independently of the writer: TFRecord framing (u64 length, masked CRC-32C of the
/// length, the serialized <c>Event</c>, masked CRC-32C of the data), every CRC checked.
/// </summary>
public static class TensorBoardEvents
{
    /// <summary>Every event of every <c>events.out.tfevents.*</c> file directly in <paramref name="directory"/>, files in name order.</summary>
    public static IReadOnlyList<Event> ReadAll(string directory) =>
        [.. Directory.GetFiles(directory, "events.out.tfevents.*").Order(StringComparer.Ordinal).SelectMany(Read)];

    /// <summary>The events of one file; throws on a torn record or a CRC mismatch.</summary>
    public static IReadOnlyList<Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        for (var at = 0; at < bytes.Length;)
        {
            if (at + 12 > bytes.Length) throw new InvalidDataException($"{path}: torn record header at byte {at}.");
            var length = BitConverter.ToUInt64(bytes, at);
            var lengthCrc = BitConverter.ToUInt32(bytes, at + 8);
            if (lengthCrc != MaskedCrc32C(bytes.AsSpan(at, 8)))
                throw new InvalidDataException($"{path}: length CRC mismatch at byte {at}.");
            var data = bytes.AsSpan(at + 12, checked((int)length));
            var dataCrc = BitConverter.ToUInt32(bytes, at + 12 + (int)length);
            if (dataCrc != MaskedCrc32C(data))
                throw new InvalidDataException($"{path}: data CRC mismatch at byte {at}.");
            events.Add(Event.Parser.ParseFrom(data.ToArray()));   // TorchSharp's generated code parses arrays, not spans
            at += 12 + (int)length + 4;
        }
        return events;
    }

    /// <summary>(step, value) of every scalar event tagged <paramref name="tag"/>.</summary>
    public static IReadOnlyList<(long Step, float Value)> Scalars(IEnumerable<Event> events, string tag) =>
        [.. events.Where(e => e.Summary is not null)
                  .SelectMany(e => e.Summary.Value.Where(v => v.Tag == tag && v.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue)
                                                  .Select(v => (e.Step, v.SimpleValue)))];

    /// <summary>TFRecord's masked CRC-32C (Castagnoli): the CRC rotated right by 15 bits plus 0xa282ead8.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        crc ^= 0xFFFFFFFFu;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }
}
