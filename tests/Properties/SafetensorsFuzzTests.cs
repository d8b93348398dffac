using System.Text;
using CsCheck;
using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Properties;

/// <summary>
/// Corrupted safetensors files — random byte edits, truncations, header lengths and header texts — either read
/// correctly or fail with a <see cref="SafetensorsException"/>: never another exception, a crash or a hang.
/// </summary>
public sealed class SafetensorsFuzzTests
{
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

    private static void ReadEverything(byte[] bytes)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, bytes);
            using var scope = NewDisposeScope();
            using var file = SafetensorsFile.Open(path);
            foreach (var name in file.Entries.Keys) file.Read(name);
        }
        catch (SafetensorsException) { }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Random_byte_edits_are_read_or_rejected_cleanly() =>
        Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Byte, Gen.Int[1, 4])
           .Sample((position, value, count) =>
           {
               var bytes = (byte[])Valid.Clone();
               for (var i = 0; i < count && position + i < bytes.Length; i++) bytes[position + i] = value;
               ReadEverything(bytes);
           }, iter: 300, threads: 1);

    [Fact]
    public void Truncations_are_read_or_rejected_cleanly() =>
        Gen.Int[0, Valid.Length].Sample(length => ReadEverything(Valid[..length]), iter: 200, threads: 1);

    [Fact]
    public void Arbitrary_header_lengths_are_rejected_without_allocating_them() =>
        Gen.Long.Sample(declared =>
        {
            var bytes = (byte[])Valid.Clone();
            BitConverter.GetBytes(declared).CopyTo(bytes, 0);
            ReadEverything(bytes);
        }, iter: 200, threads: 1);

    [Fact]
    public void Arbitrary_header_texts_are_read_or_rejected_cleanly() =>
        Gen.OneOf(Gen.String, Gen.Const("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"""))
           .Select(Gen.Int[0, 3], (text, cut) => text.Length > cut ? text[..^cut] : text)
           .Sample(header =>
           {
               var json = Encoding.UTF8.GetBytes(header);
               ReadEverything([.. BitConverter.GetBytes((long)json.Length), .. json, 0, 0, 0, 0]);
           }, iter: 300, threads: 1);
}
