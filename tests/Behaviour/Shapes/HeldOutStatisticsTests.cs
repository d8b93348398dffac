using System.Collections.Immutable;
using Omni.Shapes.Pipeline;
using Omni.Shapes.World;

namespace Omni.Tests.Behaviour.Shapes;

/// <summary>The held-out summary (position over relation prompts only) and the paired interval of a gain.</summary>
public sealed class HeldOutStatisticsTests
{
    [Fact]
    public void Position_is_averaged_over_relation_samples_only()
    {
        var result = ShapesEvaluationResult.Of([
            new ShapesScore(1, 1, 1, 1, null),       // single group: no position
            new ShapesScore(0.75, 1, 1, 1, 0),
            new ShapesScore(1, 1, 1, 1, 1),
            new ShapesScore(0.75, 1, 1, 1, 0),
        ]);
        Assert.Equal(1 / 3.0, result.Position, 12);
        Assert.Equal((4, 3), (result.Samples, result.RelationSamples));
        Assert.Equal(0.875, result.Total, 12);
        Assert.Equal(new[] { 1, 0.75, 1, 0.75 }, result.Totals.ToArray());
        Assert.True(double.IsNaN(ShapesEvaluationResult.Of([new ShapesScore(1, 1, 1, 1, null)]).Position));
    }

    [Theory]
    [InlineData(1, 12.706204736)]     // Student-t table values, two-sided 95 %
    [InlineData(10, 2.228138852)]
    [InlineData(127, 1.978819535)]
    [InlineData(255, 1.969310570)]
    public void Student_quantiles_match_the_table(int degreesOfFreedom, double expected) =>
        Assert.Equal(expected, PairedGain.StudentQuantile(0.95, degreesOfFreedom), 5);

    [Fact]
    public void A_paired_gain_is_the_mean_difference_with_a_t_interval()
    {
        double[] before = [0.2, 0.4, 0.5, 0.1, 0.3];
        double[] after = [0.5, 0.6, 0.9, 0.2, 0.6];   // differences 0.3, 0.2, 0.4, 0.1, 0.3: mean 0.26, sd 0.1140175
        var gain = PairedGain.Of(before, after);
        var half = 2.776445105 * 0.1140175425 / Math.Sqrt(5);
        Assert.Equal(0.26, gain.Mean, 12);
        Assert.Equal(0.26 - half, gain.Lower, 6);
        Assert.Equal(0.26 + half, gain.Upper, 6);
        Assert.True(gain.IsAbove(0.1) && !gain.IsAbove(0.15) && gain.Contains(0.3) && !gain.Contains(0.45));
    }

    [Fact]
    public void Pairing_removes_what_a_pair_shares()
    {
        // Wildly different samples that all gain exactly 0.1: the interval collapses onto the gain.
        var before = Enumerable.Range(0, 50).Select(i => (i * 37 % 50) / 60.0).ToArray();
        var gain = PairedGain.Of(before, before.Select(b => b + 0.1).ToArray());
        Assert.Equal(0.1, gain.Lower, 9);
        Assert.Equal(0.1, gain.Upper, 9);
    }

    [Fact]
    public void Unpaired_or_too_few_samples_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => PairedGain.Of([0.1, 0.2], [0.3]));
        Assert.Throws<ArgumentException>(() => PairedGain.Of([0.1], [0.3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedGain.Of([0.1, 0.2], [0.3, 0.4], confidence: 1));
    }

    /// <summary>A gain that rounds to zero prints as 0.000, not "-+0.000" (.NET's rule for a sectioned format's rounded zero).</summary>
    [Fact]
    public void A_gain_that_rounds_to_zero_prints_without_a_doubled_sign()
    {
        var text = new PairedGain(-0.0002, -0.0104, 0.0101, 0.005, 0.95, 256).ToString();
        Assert.DoesNotContain("-+", text);
        Assert.StartsWith("0.000 (", text);
        Assert.Contains("CI -0.010 to +0.010, paired over 256 samples", text);
        Assert.StartsWith("-0.002 (", new PairedGain(-0.002, -0.01, 0.007, 0.004, 0.95, 256).ToString());
    }
}
