using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>The <c>pipeline_ops</c> suite: Qwen-Image latent packing and true CFG.</summary>
public sealed class PipelineOpsGoldenTests
{
    private static readonly GoldenSuite Suite = GoldenSuite.Load("pipeline_ops");

    private static string KindOf(JsonElement c) => c.TryGetProperty("op", out var op) ? op.GetString()! : "unknown";

    public static TheoryData<string> PackCases => Suite.Ids(c => KindOf(c) == "qwen_pack_unpack");
    public static TheoryData<string> TrueCfgCases => Suite.Ids(c => KindOf(c) == "qwen_true_cfg");

    [Fact]
    public void Every_case_is_covered_by_a_test()
        => Suite.AssertEveryCaseIsCovered(KindOf, "qwen_pack_unpack", "qwen_true_cfg");

    [Theory, MemberData(nameof(PackCases))]
    public void Pack_and_unpack_match_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var packed = QwenImageLatents.Pack(Suite.Tensor(c, "inputs", "latents")).OrThrow();
        TensorAssert.Identical(packed, Suite.Tensor(c, "outputs", "packed"), id + " packed");
        var unpacked = QwenImageLatents.Unpack(packed, c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()).OrThrow();
        TensorAssert.Identical(unpacked, Suite.Tensor(c, "outputs", "unpacked"), id + " unpacked");
    }

    [Theory, MemberData(nameof(TrueCfgCases))]
    public void True_cfg_matches_the_reference(string id)
    {
        using var scope = NewDisposeScope();
        var c = Suite.Case(id);
        var combined = Guidance.TrueCfg(Suite.Tensor(c, "inputs", "noise_pred"), Suite.Tensor(c, "inputs", "negative_noise_pred"),
                                        c.GetProperty("true_cfg_scale").GetDouble());
        TensorAssert.Close(combined, Suite.Tensor(c, "outputs", "combined"), TensorAssert.Elementwise, id);
    }
}
