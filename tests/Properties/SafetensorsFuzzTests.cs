using System.Text;
using CsCheck;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Properties;

/// <summary>
/// Corrupted safetensors data — random byte edits, truncations, header lengths and header texts, 6,000 cases in all — is
/// either read correctly or rejected with a <see cref="SafetensorsException"/>: never another exception, a crash or a hang.
/// The cases are read from memory (<see cref="SafetensorsFile.Open(Stream, string)"/>), so the suite stays fast.
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private const int CasesPerProperty = 1500;
    private static readonly byte[] Valid = MakeValid();

    private static byte[] MakeValid()
    {
        var path = Path.GetTempFileName();
        try
        {
            using var scope = NewDisposeScope();
            SafetensorsWriter.Write(path, new Dictionary<string, Tensor>
            {
                ["weight"] = arange(0, 12, ScalarType.Float32).reshape(3, 4),
                ["bias"] = ones(4, ScalarType.BFloat16),
                ["ids"] = arange(0, 5, ScalarType.Int64),
            }, new Dictionary<string, string> { ["format"] = "pt" });
            return File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
    }

    /// <summary>Opens and reads every tensor; true when the data was accepted, false when it was rejected cleanly.</summary>
    private static bool ReadEverything(byte[] bytes)
    {
        try
        {
            using var scope = NewDisposeScope();
            using var file = SafetensorsFile.Open(new MemoryStream(bytes, writable: false), "fuzzed");
            foreach (var name in file.Entries.Keys) file.Read(name);
            return true;
        }
        catch (SafetensorsException) { return false; }
    }

    [Fact]
    public void The_unmodified_data_reads_back()
    {
        using var scope = NewDisposeScope();
        using var file = SafetensorsFile.Open(new MemoryStream(Valid, writable: false), "valid");
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), file.Read("weight").data<float>().ToArray());
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void Random_byte_edits_are_read_or_rejected_cleanly() =>
        Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Byte, Gen.Int[1, 4])
           .Sample((position, value, count) =>
           {
               var bytes = (byte[])Valid.Clone();
               for (var i = 0; i < count && position + i < bytes.Length; i++) bytes[position + i] = value;
               ReadEverything(bytes);
           }, iter: CasesPerProperty, threads: 1);

    [Fact]
    public void Truncations_are_read_or_rejected_cleanly() =>
        Gen.Int[0, Valid.Length].Sample(length =>
        {
            // Every proper prefix loses data the header promises: it must be rejected, never read as something shorter.
            Assert.True(ReadEverything(Valid[..length]) == (length == Valid.Length), $"a {length}-byte prefix of {Valid.Length} bytes was accepted");
        }, iter: CasesPerProperty, threads: 1);

    /// <summary>
    /// A declared header length is checked against the data before anything is allocated for it: opening never allocates
    /// more than the data's own size plus a fixed overhead (messages, the exception), whatever length the prefix claims.
    /// </summary>
    [Fact]
    public void Arbitrary_header_lengths_are_rejected_without_allocating_them() =>
        Gen.OneOf(Gen.Long, Gen.Long[long.MaxValue / 2, long.MaxValue], Gen.Long[0, 4096]).Sample(declared =>
        {
            var bytes = (byte[])Valid.Clone();
            BitConverter.GetBytes(declared).CopyTo(bytes, 0);
            var stream = new MemoryStream(bytes, writable: false);
            var before = GC.GetAllocatedBytesForCurrentThread();
            try { SafetensorsFile.Open(stream, "fuzzed").Dispose(); }
            catch (SafetensorsException) { }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            const long overhead = 64 * 1024;
            Assert.True(allocated <= bytes.Length + overhead,
                $"declaring a header of {declared} bytes made Open allocate {allocated} bytes for {bytes.Length} bytes of data");
        }, iter: CasesPerProperty, threads: 1);

    [Fact]
    public void Arbitrary_header_texts_are_read_or_rejected_cleanly() =>
        Gen.OneOf(Gen.String, Gen.Const("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"""),
                  Gen.Const("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "__metadata__": {"k": 1}}"""))
           .Select(Gen.Int[0, 3], (text, cut) => text.Length > cut ? text[..^cut] : text)
           .Sample(header =>
           {
               var json = Encoding.UTF8.GetBytes(header);
               ReadEverything([.. BitConverter.GetBytes((long)json.Length), .. json, 0, 0, 0, 0]);
           }, iter: CasesPerProperty, threads: 1);
}
