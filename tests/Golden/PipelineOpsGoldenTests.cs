using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Pipelines;
using Omni.Tests.Golden.Infrastructure;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>The <c>pipeline_ops</c> suite: Qwen-Image latent packing and true CFG.</summary>
[ChecksFixture("pipeline_ops")]
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
    public void Pack_and_unpack_match_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var latents = c.Input("latents");
        var (height, width) = (c.Int("height"), c.Int("width"));
        // _pack_latents' arguments describe the latents it packs: (batch_size, 1, num_channels_latents, height, width).
        Assert.Equal(new long[] { c.Int("batch_size"), 1, c.Int("num_channels_latents"), height, width }, latents.shape);
        c.NotUsed("vae_scale_factor", "height and width are already latent sizes (the shape check above), so there is nothing to convert");
        var packed = QwenImageLatents.Pack(latents).OrThrow();
        TensorAssert.Identical(packed, c.Output("packed"), id + " packed");
        var unpacked = QwenImageLatents.Unpack(packed, height, width).OrThrow();
        TensorAssert.Identical(unpacked, c.Output("unpacked"), id + " unpacked");
    });

    [Theory, MemberData(nameof(TrueCfgCases))]
    public void True_cfg_matches_the_reference(string id) => Suite.Check(id, c =>
    {
        using var scope = NewDisposeScope();
        var combined = Guidance.TrueCfg(c.Input("noise_pred"), c.Input("negative_noise_pred"), c.Double("true_cfg_scale"));
        TensorAssert.Close(combined, c.Output("combined"), TensorAssert.Elementwise, id);
    });
}
