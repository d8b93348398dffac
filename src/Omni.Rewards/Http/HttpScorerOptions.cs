using System.Collections.Immutable;

namespace Omni.Rewards.Http;

/// <summary>
/// Settings of an <see cref="HttpScorer"/>: where the scoring server is, how long to wait, how often to retry and how
/// many images to send per request. Call <see cref="Validate"/> (done by <see cref="HttpScorer.Create"/>) to check them.
/// </summary>
public sealed record HttpScorerOptions
{
    /// <summary>The absolute http or https URL the batch is POSTed to.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The reward name scores are logged under.</summary>
    public required string Name { get; init; }

    /// <summary>Time limit of one attempt (sending the request and reading the whole response); default 60 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt (so at most MaxRetries + 1 attempts per request); default 3.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Delay before the first retry, doubled before each further one (unless the server sends Retry-After); default 1 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest number of images in one request; larger batches are split in order; default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Longest Retry-After wait honoured; a longer one is cut to this; default 5 minutes.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Extra request headers (e.g. <c>Authorization</c>); see <see cref="WithBearerToken"/>.</summary>
    public ImmutableDictionary<string, string> Headers { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>These options with an <c>Authorization: Bearer &lt;token&gt;</c> header.</summary>
    public HttpScorerOptions WithBearerToken(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        return this with { Headers = Headers.SetItem("Authorization", $"Bearer {token}") };
    }

    /// <summary>Every problem with these options (empty when they are valid). Pure.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Endpoint is null) problems.Add("Endpoint is required");
        else if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
            problems.Add($"Endpoint must be an absolute http:// or https:// URL; got '{Endpoint.OriginalString}'");
        if (string.IsNullOrWhiteSpace(Name)) problems.Add("Name must not be empty");
        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
            problems.Add($"Timeout must be positive; got {Timeout}");
        if (MaxRetries < 0) problems.Add($"MaxRetries must be 0 or more; got {MaxRetries}");
        if (RetryDelay < TimeSpan.Zero) problems.Add($"RetryDelay must not be negative; got {RetryDelay}");
        if (MaxRetryAfter < TimeSpan.Zero) problems.Add($"MaxRetryAfter must not be negative; got {MaxRetryAfter}");
        if (BatchSize <= 0) problems.Add($"BatchSize must be positive; got {BatchSize}");
        foreach (var key in (Headers ?? ImmutableDictionary<string, string>.Empty).Keys.Where(string.IsNullOrWhiteSpace))
            problems.Add("a header name is empty");
        return problems;
    }

    /// <summary>Throws when the options are invalid, listing every problem.</summary>
    /// <exception cref="ArgumentException">At least one option is invalid.</exception>
    public HttpScorerOptions Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new ArgumentException($"Invalid HTTP scorer options{(string.IsNullOrWhiteSpace(Name) ? "" : $" for '{Name}'")}: {string.Join("; ", problems)}.");
        return this;
    }
}
