using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>The prompt set and its held-out split.</summary>
public sealed class WorldSplitTests
{
    [Fact]
    public void All_prompts_are_the_single_groups_and_the_allowed_relations()
    {
        var all = ShapesWorld.AllPrompts;
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.Equal(3 * 4 * 3, all.Count(p => p.Second is null));
        // Count pairs (1,1) (1,2) (2,1) (1,3) (3,1) (2,2) × ordered attribute pairs that differ × relations.
        Assert.Equal(6 * (12 * 12 - 12) * 4, all.Count(p => p.Second is not null));
        Assert.All(all, p => Assert.True(p.Validate().IsRight));
        Assert.All(all.Where(p => p.Second is not null), p => Assert.True(p.ObjectCount <= ShapesPrompt.MaxObjects));
    }

    [Fact]
    public void Held_out_and_training_are_disjoint_and_cover_the_world()
    {
        Assert.Equal(ShapesWorld.HeldOutSize, ShapesWorld.HeldOut.Length);
        Assert.Equal(ShapesWorld.HeldOutSize, ShapesWorld.HeldOut.Distinct().Count());
        Assert.Empty(ShapesWorld.HeldOut.Intersect(ShapesWorld.Training));
        Assert.Empty(ShapesWorld.HeldOut.Select(p => p.Text).Intersect(ShapesWorld.Training.Select(p => p.Text)));
        Assert.Equal(ShapesWorld.AllPrompts.Length, ShapesWorld.HeldOut.Length + ShapesWorld.Training.Length);
        Assert.Equal(ShapesWorld.HeldOutSingleGroups, ShapesWorld.HeldOut.Count(p => p.Second is null));
    }

    [Fact]
    public void Held_out_set_is_fixed()
    {
        // Pinned so that an accidental change to the selection (and with it every held-out number) fails loudly.
        var first = ShapesWorld.HeldOut.Take(5).Select(p => p.Text).ToArray();
        Assert.Equal(ExpectedHeldOutStart, first);
    }

    private static readonly string[] ExpectedHeldOutStart =
        ["three blue triangles", "three yellow squares", "two blue squares", "two green circles", "a red triangle right of two blue triangles"];

    [Fact]
    public void Sampling_is_deterministic_per_seed_and_never_held_out()
    {
        static string[] Draw(int seed)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, 2000).Select(_ => ShapesWorld.SampleTraining(rng).Text).ToArray();
        }
        var a = Draw(7);
        Assert.Equal(a, Draw(7));
        Assert.NotEqual(a, Draw(8));
        var heldOut = ShapesWorld.HeldOut.Select(p => p.Text).ToHashSet();
        Assert.DoesNotContain(a, heldOut.Contains);
        var singles = a.Count(t => ShapesPrompt.Parse(t).Match(Right: p => p.Second is null, Left: _ => false));
        Assert.InRange(singles / (double)a.Length, 0.2, 0.3);
    }
}
