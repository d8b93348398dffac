using Omni.Algebra.Errors;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>The word-level tokenizer: fixed-length rows, padding, unknown words.</summary>
public sealed class VocabularyTests
{
    [Fact]
    public void Pad_is_word_zero_and_every_word_is_distinct()
    {
        Assert.Equal("<pad>", ShapesVocabulary.Words[ShapesVocabulary.PadId]);
        Assert.Equal(ShapesVocabulary.Words.Count, ShapesVocabulary.Words.Distinct().Count());
        Assert.Contains("left", ShapesVocabulary.Words);
        Assert.Contains("of", ShapesVocabulary.Words);
        Assert.DoesNotContain("left of", ShapesVocabulary.Words);
    }

    [Fact]
    public void Every_prompt_tokenizes_to_a_full_row_and_back()
    {
        var longest = 0;
        foreach (var prompt in ShapesWorld.AllPrompts)
        {
            var ids = ShapesVocabulary.Tokenize(prompt.Text).OrThrow();
            Assert.Equal(ShapesVocabulary.MaxTokens, ids.Length);
            var words = prompt.Text.Split(' ').Length;
            Assert.Equal(words, ShapesVocabulary.Mask(ids).Count(m => m));
            Assert.All(ids.Skip(words), id => Assert.Equal(ShapesVocabulary.PadId, id));
            Assert.Equal(prompt.Text, ShapesVocabulary.Detokenize(ids));
            Assert.Equal(ids, ShapesVocabulary.Tokenize(prompt));
            longest = Math.Max(longest, words);
        }
        Assert.Equal(ShapesVocabulary.MaxTokens, longest);
    }

    [Fact]
    public void Every_word_of_the_vocabulary_is_used_by_some_prompt()
    {
        var used = ShapesWorld.AllPrompts.SelectMany(p => p.Text.Split(' ')).ToHashSet();
        Assert.Equal(ShapesVocabulary.Words.Skip(1).Order(), used.Order());
    }

    [Fact]
    public void Tokenize_is_case_and_whitespace_insensitive() =>
        Assert.Equal(ShapesVocabulary.Tokenize("a red circle").OrThrow(), ShapesVocabulary.Tokenize("  A   Red\tCIRCLE ").OrThrow());

    [Fact]
    public void Unknown_word_is_an_error_naming_it()
    {
        var error = ShapesVocabulary.Tokenize("a magenta circle").ErrorOf();
        Assert.True(error.IsSome);
        error.IfSome(e => Assert.Contains("'magenta'", e.Message));
    }

    [Fact]
    public void Too_many_words_is_an_error() =>
        Assert.True(ShapesVocabulary.Tokenize("a red circle above a blue square and a green triangle").IsLeft);

    [Fact]
    public void Empty_text_is_all_padding()
    {
        var ids = ShapesVocabulary.Tokenize("").OrThrow();
        Assert.Equal(new int[ShapesVocabulary.MaxTokens], ids);
        Assert.All(ShapesVocabulary.Mask(ids), Assert.False);
    }
}
