using System.Globalization;
using Omni.Algebra.Rewards;
using Omni.Rewards;
using Omni.Rewards.Http;

namespace Omni.Cli.Cli;

/// <summary>
/// Parses <c>--reward</c> values: a built-in name (<c>jpeg_compressibility</c>, <c>jpeg_incompressibility</c>,
/// <c>shapes</c>) or an http(s) URL of a scoring server, optionally followed by <c>*weight</c>.
/// </summary>
public static class RewardSpecs
{
    /// <summary>The built-in reward names.</summary>
    public static readonly string[] BuiltIns = ["jpeg_compressibility", "jpeg_incompressibility", "shapes"];

    /// <summary>Parses one specification.</summary>
    /// <exception cref="ArgumentException">Unknown name, bad weight or bad URL (the message lists what is accepted).</exception>
    public static (RewardFunction Reward, double Weight) Parse(string spec)
    {
        var star = spec.LastIndexOf('*');
        var (name, weight) = star < 0 ? (spec, 1.0) : (spec[..star], ParseWeight(spec, spec[(star + 1)..]));
        if (name.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || name.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return Uri.TryCreate(name, UriKind.Absolute, out var endpoint) && !string.IsNullOrEmpty(endpoint.Host)
                ? (HttpScorer.Create(new HttpScorerOptions { Endpoint = endpoint, Name = "http:" + endpoint.Host }), weight)
                : throw new ArgumentException($"Bad scorer URL '{name}': expected an absolute http(s) URL such as http://127.0.0.1:8000/score.");
        return name switch
        {
            "jpeg_compressibility" => (JpegRewards.Compressibility, weight),
            "jpeg_incompressibility" => (JpegRewards.Incompressibility, weight),
            "shapes" => (Omni.Shapes.World.ShapesReward.Function, weight),
            _ => throw new ArgumentException($"Unknown reward '{name}'. Use one of [{string.Join(", ", BuiltIns)}] or an http(s):// scorer URL, optionally with *weight."),
        };
    }

    /// <summary>Parses every specification, adding a problem for each one that does not parse (so all are reported together).</summary>
    public static IReadOnlyList<(RewardFunction Reward, double Weight)> ParseAll(IEnumerable<string> specs, ICollection<Omni.Algebra.Errors.OmniError> problems)
    {
        var parsed = new List<(RewardFunction, double)>();
        foreach (var spec in specs)
        {
            try { parsed.Add(Parse(spec)); }
            catch (ArgumentException e) { problems.Add(Omni.Algebra.Errors.OmniError.Invalid(e.Message)); }
        }
        return parsed;
    }

    private static double ParseWeight(string spec, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && double.IsFinite(w)
            ? w
            : throw new ArgumentException($"Bad reward weight in '{spec}': '{text}' is not a number.");
}
