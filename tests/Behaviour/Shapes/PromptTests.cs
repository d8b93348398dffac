using Omni.Algebra.Errors;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>Prompt text and parsing: every prompt of the world reads back to itself, bad text names the bad word.</summary>
public sealed class PromptTests
{
    [Theory]
    [InlineData("a green triangle")]
    [InlineData("three yellow squares")]
    [InlineData("two red circles above a blue square")]
    [InlineData("a blue square right of two blue circles")]
    [InlineData("a red circle left of three green triangles")]
    public void Text_of_hand_written_prompts_round_trips(string text) =>
        Assert.Equal(text, ShapesPrompt.Parse(text).OrThrow().Text);

    [Fact]
    public void Text_is_built_from_count_colour_shape_and_relation()
    {
        var prompt = new ShapesPrompt(new ObjectGroup(2, ShapeColour.Red, ShapeKind.Circle), Relation.Above,
                                      new ObjectGroup(1, ShapeColour.Blue, ShapeKind.Square));
        Assert.Equal("two red circles above a blue square", prompt.Text);
        Assert.Equal("three yellow triangles", new ShapesPrompt(new ObjectGroup(3, ShapeColour.Yellow, ShapeKind.Triangle)).Text);
    }

    [Fact]
    public void Every_prompt_of_the_world_parses_back_to_itself()
    {
        foreach (var prompt in ShapesWorld.AllPrompts)
        {
            var parsed = ShapesPrompt.Parse(prompt.Text).OrThrow();
            Assert.Equal(prompt, parsed);
            Assert.Equal(prompt.Text, parsed.Text);
        }
    }

    [Fact]
    public void Parse_ignores_case_and_extra_whitespace()
    {
        var parsed = ShapesPrompt.Parse("  Two RED circles \t Left   of\na Blue square ").OrThrow();
        Assert.Equal("two red circles left of a blue square", parsed.Text);
        Assert.Equal(Relation.LeftOf, parsed.Relation);
    }

    [Theory]
    [InlineData("a purple circle", "purple")]
    [InlineData("four red circles", "four")]
    [InlineData("a red hexagon", "hexagon")]
    [InlineData("a red circle beside a blue square", "beside")]
    [InlineData("a red circle left a blue square", "a")]
    [InlineData("a red circles", "circles")]
    [InlineData("two red circle", "circle")]
    [InlineData("a red circle above a blue square please", "please")]
    public void Parse_names_the_offending_word(string text, string word)
    {
        var error = ShapesPrompt.Parse(text).ErrorOf();
        Assert.True(error.IsSome, $"\"{text}\" should not parse");
        error.IfSome(e => Assert.Contains($"'{word}'", e.Message));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a red", "ends after 'red'")]
    [InlineData("a red circle above", "ends after 'above'")]
    [InlineData("three red circles above two blue squares", "at most 4")]
    [InlineData("a red circle above two red circles", "same colour and shape")]
    public void Parse_rejects_incomplete_text_and_prompts_outside_the_world(string text, string reason)
    {
        var error = ShapesPrompt.Parse(text).ErrorOf();
        Assert.True(error.IsSome, $"\"{text}\" should not parse");
        error.IfSome(e => Assert.Contains(reason, e.Message));
    }

    [Fact]
    public void Validate_rejects_a_relation_without_a_second_group() =>
        Assert.True(new ShapesPrompt(new ObjectGroup(1, ShapeColour.Red, ShapeKind.Circle), Relation.Above).Validate().IsLeft);
}
