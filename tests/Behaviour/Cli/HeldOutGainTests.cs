using System.Globalization;
using System.Text.RegularExpressions;
using Omni.Tests.Behaviour.ShapesModel;

namespace Omni.Tests.Behaviour.Cli;

/// <summary>
/// The main job at reduced size, through the real executable: a short FlowGRPO run on the bundled model gains on the
/// held-out prompts, and <c>omni eval --first-seed</c> on noise the job never used finds the same gain.
/// </summary>
public sealed partial class HeldOutGainTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("omni-gain-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    [Fact]
    public void A_short_run_gains_and_the_gain_holds_on_seeds_the_job_never_used()
    {
        var bundled = Path.Combine(TinyShapes.RepositoryRoot(), "models", "omni-shapes-tiny");
        var run = Path.Combine(_work, "run");
        var train = OmniProcess.Run(_work, TrainTimeout, ["train", "--model", bundled, "--run", run, .. ReducedJob]);
        Assert.True(train.Code == 0, $"exit {train.Code}. stdout:\n{train.Output}\nstderr:\n{train.Error}");
        var job = Change(train.Output);
        Assert.True(job.Lower > 0, $"the reduced job did not gain beyond its interval: {job}");

        // Seeds far from the job's (held-out seeds 0–255, grid seeds 1000–1003; rollouts draw SplitMix64 streams).
        var eval = OmniProcess.Run(_work, "eval", "--model", Path.Combine(run, "final-model"), "--baseline", bundled,
                                   "--first-seed", "7000000", "--seeds", EvalSeeds);
        Assert.True(eval.Code == 0, $"exit {eval.Code}. stdout:\n{eval.Output}\nstderr:\n{eval.Error}");
        var unseen = Change(eval.Output);
        Assert.True(unseen.Lower > 0, $"no gain on unseen seeds: {unseen} (the job: {job})");
        // The same gain: the two estimates differ by less than their combined 95 % half-width.
        var combined = Math.Sqrt(Math.Pow(job.HalfWidth, 2) + Math.Pow(unseen.HalfWidth, 2));
        Assert.True(Math.Abs(job.Mean - unseen.Mean) <= combined, $"job {job} vs unseen seeds {unseen}");
    }

    // Samples per held-out prompt on both sides: 256 paired samples, a 95 % half-width of about 0.03.
    private const string EvalSeeds = "8";

    // About 1.5 minutes on 2 idle cores; 8 minutes on one thread of a busy machine.
    private static readonly TimeSpan TrainTimeout = TimeSpan.FromMinutes(20);

    // The first 40 of the job's 140 steps, with its other defaults.
    private static readonly string[] ReducedJob = ["--steps", "40", "--set", "omni:heldout_seeds=" + EvalSeeds];

    private sealed record Gain(double Mean, double Lower, double Upper)
    {
        public double HalfWidth => (Upper - Lower) / 2;
    }

    private static Gain Change(string output)
    {
        var match = ChangeLine().Match(output);
        Assert.True(match.Success, $"no change line in:\n{output}");
        double D(int group) => double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
        return new Gain(D(1), D(2), D(3));
    }

    [GeneratedRegex(@"change: ([+-]?\d\.\d{3}) absolute \(95% CI ([+-]?\d\.\d{3}) to ([+-]?\d\.\d{3}),")]
    private static partial Regex ChangeLine();
}
