using Omni.Shapes.Model;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.ShapesModel;

public sealed class ShapesTextEncoderTests
{
    [Fact]
    public void Encodes_token_rows_into_states_and_pooled_embeddings()
    {
        using var pipeline = TinyShapes.Create();
        using var ids = ShapesPromptEncoding.Tokens(["two red circles above a blue square", "a green triangle"]).Match(t => t, e => throw new Xunit.Sdk.XunitException(e.Message));
        var (embeds, pooled) = pipeline.TextEncoder.forward(ids);
        using (embeds) using (pooled)
        {
            Assert.Equal(new long[] { 2, ShapesVocabulary.MaxTokens, 32 }, embeds.shape);
            Assert.Equal(new long[] { 2, 24 }, pooled.shape);
            Assert.True(embeds.isfinite().all().item<bool>() && pooled.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void Padding_does_not_change_the_words_or_the_pooled_embedding()
    {
        using var pipeline = TinyShapes.Create(seed: 3);
        using var padded = ShapesPromptEncoding.Tokens(["three yellow squares"]).Match(t => t, e => throw new Xunit.Sdk.XunitException(e.Message));
        using var words = padded.narrow(1, 0, 3);
        var (paddedEmbeds, paddedPooled) = pipeline.TextEncoder.forward(padded);
        var (wordEmbeds, wordPooled) = pipeline.TextEncoder.forward(words);
        Assert.True(paddedPooled.allclose(wordPooled, rtol: 1e-5, atol: 1e-6));
        Assert.True(paddedEmbeds.narrow(1, 0, 3).allclose(wordEmbeds, rtol: 1e-5, atol: 1e-6));
        // A different pad count changes nothing either, whereas a different word does.
        using var other = ShapesPromptEncoding.Tokens(["three yellow circles"]).Match(t => t, e => throw new Xunit.Sdk.XunitException(e.Message));
        var (_, otherPooled) = pipeline.TextEncoder.forward(other);
        Assert.False(otherPooled.allclose(paddedPooled, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void The_empty_prompt_encodes_to_finite_values_of_its_own()
    {
        using var pipeline = TinyShapes.Create();
        using var empty = ShapesPromptEncoding.EmptyTokens();
        var (embeds, pooled) = pipeline.TextEncoder.forward(empty);
        Assert.True(embeds.isfinite().all().item<bool>() && pooled.isfinite().all().item<bool>());
        using var ids = ShapesPromptEncoding.Tokens(["a red circle"]).Match(t => t, e => throw new Xunit.Sdk.XunitException(e.Message));
        Assert.False(pipeline.TextEncoder.forward(ids).Pooled.allclose(pooled));
    }

    [Fact]
    public void Unknown_words_are_errors_not_exceptions()
    {
        Assert.True(ShapesPromptEncoding.Tokens(["a purple circle"]).IsLeft);
        using var pipeline = TinyShapes.Create();
        Assert.True(ShapesPromptEncoding.Encode(pipeline.TextEncoder, ["a purple circle"]).IsLeft);
    }

    [Fact]
    public void The_configuration_round_trips_through_config_json_and_reports_every_problem()
    {
        Assert.Equal(TinyShapes.Text, ShapesTextEncoderConfig.Parse(TinyShapes.Text.ToJson()));
        var bad = new ShapesTextEncoderConfig { HiddenSize = 30, NumAttentionHeads = 4, ProjectionDim = 0 };
        Assert.Equal(2, bad.Problems().Count);
    }
}
