using Omni.Effects.Safetensors;
using Omni.Models.Loading;
using Omni.Tests.Behaviour.Support;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour;

/// <summary>The safetensors reader and writer: every dtype, sharded checkpoints, casting, strictness, and hostile files.</summary>
public sealed class SafetensorsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omni-st-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, Dictionary<string, Tensor> tensors, Dictionary<string, string>? metadata = null)
    {
        var path = Path.Combine(_directory, name);
        SafetensorsWriter.Write(path, tensors, metadata);
        return path;
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Int8)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void Every_dtype_round_trips_bit_for_bit(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var source = (arange(-6, 18).reshape(2, 3, 4) * 0.75).to(dtype);
        var path = Write("t.safetensors", new() { ["x"] = source, ["scalar"] = tensor(3.5).to(dtype), ["empty"] = zeros(0, 5).to(dtype) });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(dtype, file.Entries["x"].DType);
        Assert.True(file.Read("x").bytes.SequenceEqual(source.bytes));
        Assert.Empty(file.Read("scalar").shape);
        Assert.Equal(new long[] { 0, 5 }, file.Read("empty").shape);
    }

    [Fact]
    public void Headers_are_aligned_and_metadata_survives()
    {
        using var scope = NewDisposeScope();
        var path = Write("m.safetensors", new() { ["b"] = ones(3), ["a"] = zeros(2) }, new() { ["format"] = "pt" });
        var headerLength = BitConverter.ToInt64(File.ReadAllBytes(path), 0);
        Assert.Equal(0, headerLength % 8);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.True(file.Entries["a"].Begin < file.Entries["b"].Begin, "tensors are laid out in key order");
    }

    [Fact]
    public void Tensors_are_cast_on_load()
    {
        using var scope = NewDisposeScope();
        var path = Write("c.safetensors", new() { ["x"] = tensor(new[] { 1.5f, -2.25f }) });
        using var file = SafetensorsFile.Open(path);
        var half = file.Read("x", ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, half.dtype);
        Assert.Equal(-2.25f, half[1].to(ScalarType.Float32).item<float>());
    }

    [Fact]
    public void Sharded_checkpoints_read_as_one_source()
    {
        using var scope = NewDisposeScope();
        Write("model-00001-of-00002.safetensors", new() { ["a"] = ones(2) });
        Write("model-00002-of-00002.safetensors", new() { ["b"] = full(3, 2f) });
        var index = Path.Combine(_directory, "diffusion_pytorch_model.safetensors.index.json");
        File.WriteAllText(index, """{"metadata": {"total_size": 20}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        using var weights = WeightFiles.Open(_directory);
        Assert.Equal(new[] { "a", "b" }, weights.Entries.Keys.Order());
        Assert.Equal(2f, weights.Read("b")[2].item<float>());
    }

    [Fact]
    public void A_shard_index_that_points_at_the_wrong_file_is_an_error()
    {
        using var scope = NewDisposeScope();
        Write("s1.safetensors", new() { ["a"] = ones(2) });
        var index = Path.Combine(_directory, "x.safetensors.index.json");
        File.WriteAllText(index, """{"weight_map": {"b": "s1.safetensors"}}""");
        Assert.Contains("maps 'b' to 's1.safetensors', which does not contain it", Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.Open(index)).Message);
        File.WriteAllText(index, """{"weight_map": {"a": "../elsewhere.safetensors"}}""");
        Assert.Contains("outside its folder", Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.Open(index)).Message);
    }

    [Fact]
    public void Strict_loading_reports_missing_and_unexpected_keys_and_lenient_loading_copies_the_rest()
    {
        using var scope = NewDisposeScope();
        var module = nn.Linear(3, 2);
        var path = Write("w.safetensors", new() { ["weight"] = full(2, 3, 0.5f), ["extra"] = zeros(1) });
        var error = Assert.Throws<SafetensorsException>(() => WeightLoader.Load(module, path, strict: true));
        Assert.Contains("missing [bias]", error.Message);
        Assert.Contains("unexpected [extra]", error.Message);
        var report = WeightLoader.Load(module, path, strict: false);
        Assert.Equal(["weight"], report.Loaded);
        Assert.Equal(0.5f, module.weight![1, 2].item<float>());
    }

    public static TheoryData<string, byte[], string> HostileFiles => new()
    {
        { "too short", [1, 2, 3], "too short" },
        { "header beyond file", RawSafetensors.Bytes("{}", [], declaredHeaderLength: 1 << 20), "declares a header of" },
        { "malformed json", RawSafetensors.Bytes("{\"a\": ", []), "malformed JSON header" },
        { "unknown dtype", RawSafetensors.Bytes("""{"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}""", [0]), "unknown dtype 'F8'" },
        { "offset beyond data", RawSafetensors.Bytes("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", [0, 0, 0, 0]), "lie outside" },
        { "shape and bytes disagree", RawSafetensors.Bytes("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", new byte[8]), "needs 12 bytes" },
        { "overlapping tensors", RawSafetensors.Bytes("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", new byte[12]), "overlap" },
        { "duplicate key", RawSafetensors.Bytes("""{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}""", new byte[2]), "twice" },
        { "negative size", RawSafetensors.Bytes("""{"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}""", []), "non-negative integers" },
        { "huge shape", RawSafetensors.Bytes("""{"a": {"dtype": "F32", "shape": [9223372036854775807, 4], "data_offsets": [0, 4]}}""", new byte[4]), "too large" },
        { "not an object", RawSafetensors.Bytes("[1, 2]", []), "not a JSON object" },
    };

    [Theory, MemberData(nameof(HostileFiles))]
    public void Hostile_files_fail_with_a_message_naming_the_file_and_the_problem(string label, byte[] bytes, string expected)
    {
        var path = RawSafetensors.File(_directory, label.Replace(' ', '_') + ".safetensors", bytes);
        var error = Assert.Throws<SafetensorsException>(() => { using var f = SafetensorsFile.Open(path); });
        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_file_truncated_after_its_header_is_caught_when_reading()
    {
        using var scope = NewDisposeScope();
        var path = Write("t.safetensors", new() { ["x"] = ones(1000) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        Assert.Throws<SafetensorsException>(() => { using var f = SafetensorsFile.Open(path); f.Read("x"); });
    }
}
