using System.Net.Http.Headers;
using Omni.Algebra.Rewards;

namespace Omni.Rewards.Http;

/// <summary>
/// A reward computed by a remote scoring server (an aesthetic model, a VLM judge, OCR, ...). Protocol, per request of
/// at most <see cref="HttpScorerOptions.BatchSize"/> samples: <c>POST</c> <see cref="HttpScorerOptions.Endpoint"/> with
/// <c>Content-Type: application/json</c> and body
/// <c>{"images": ["&lt;base64 PNG&gt;", ...], "prompts": ["...", ...], "metadata": [{"key": "value"}, ...]}</c>;
/// the server answers 200 with <c>{"scores": [0.71, ...]}</c>, one finite number per image in request order (other
/// members such as <c>"components"</c> are ignored). Timeouts, connection failures, 5xx and 429 are retried up to
/// <see cref="HttpScorerOptions.MaxRetries"/> times with exponential backoff (or the server's Retry-After); other 4xx
/// statuses, malformed JSON and wrong or non-finite scores fail at once. Every failure is a
/// <see cref="RewardException"/> naming the endpoint, the status, a body excerpt and the attempt count.
/// </summary>
public static class HttpScorer
{
    // One client for all scorers that are not given one: HttpClient is meant to be shared (socket reuse), and the
    // per-attempt timeout is ours, so the client's own timeout is switched off.
    private static readonly Lazy<HttpClient> SharedClient = new(() => new HttpClient { Timeout = Timeout.InfiniteTimeSpan });

    /// <summary>A reward named <see cref="HttpScorerOptions.Name"/> that scores batches on the server.</summary>
    /// <param name="options">Endpoint, name, timeout, retries, batch size and headers; validated here.</param>
    /// <param name="client">The client to send with (its own Timeout also applies); a shared one when omitted.</param>
    /// <exception cref="ArgumentException">The options are invalid (every problem is listed).</exception>
    public static RewardFunction Create(HttpScorerOptions options, HttpClient? client = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var http = client ?? SharedClient.Value;
        return new RewardFunction(options.Name, (batch, cancellation) => ScoreAll(options, http, batch, cancellation));
    }

    private static async Task<float[]> ScoreAll(HttpScorerOptions options, HttpClient http, RewardBatch batch, CancellationToken cancellation)
    {
        var scores = new float[batch.Count];
        // Requests go one after another: a scoring server usually holds one model and gains nothing from parallel calls.
        for (var start = 0; start < batch.Count; start += options.BatchSize)
        {
            var count = Math.Min(options.BatchSize, batch.Count - start);
            var body = ScorerProtocol.Request(batch, start, count);
            var part = await ScoreRequest(options, http, body, start, count, cancellation).ConfigureAwait(false);
            part.CopyTo(scores, start);
        }
        return scores;
    }

    private static async Task<float[]> ScoreRequest(
        HttpScorerOptions options, HttpClient http, byte[] body, int start, int count, CancellationToken cancellation)
    {
        var where = $"HTTP scorer '{options.Name}' at {options.Endpoint}";
        var samples = count == 1 ? $"sample {start}" : $"samples {start}–{start + count - 1}";
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            RetryConditionHeaderValue? retryAfter = null;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
            {
                deadline.CancelAfter(options.Timeout);
                try
                {
                    using var request = BuildRequest(options, body);
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
                    var text = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
                    var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                    if (response.IsSuccessStatusCode)
                    {
                        var scores = ScorerProtocol.Scores(text, count, out var problem);
                        if (scores is not null) return scores;
                        throw new RewardException(options.Name,
                            $"{where} answered {status} for {samples} on attempt {attempt}, but {problem}. Body: {ScorerProtocol.Excerpt(text)}");
                    }
                    if (!RetryPolicy.IsRetryable(response.StatusCode))
                        throw new RewardException(options.Name,
                            $"{where} rejected {samples} with {status} on attempt {attempt} (not retried: a 4xx means the request is wrong). Body: {ScorerProtocol.Excerpt(text)}");
                    failure = $"{status}. Body: {ScorerProtocol.Excerpt(text)}";
                    retryAfter = response.Headers.RetryAfter;
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    failure = $"no complete response within {options.Timeout.TotalSeconds:0.###} s";
                }
                catch (HttpRequestException e)
                {
                    failure = $"request failed: {e.Message}";
                }
            }
            if (attempt > options.MaxRetries)
                throw new RewardException(options.Name,
                    $"{where} failed for {samples} after {attempt} attempt{(attempt == 1 ? "" : "s")}; last error: {failure}");
            var delay = RetryPolicy.Delay(attempt, options.RetryDelay, retryAfter, DateTimeOffset.UtcNow, options.MaxRetryAfter);
            await Task.Delay(delay, cancellation).ConfigureAwait(false);
        }
    }

    private static HttpRequestMessage BuildRequest(HttpScorerOptions options, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, options.Endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in options.Headers)
            if (!request.Headers.TryAddWithoutValidation(name, value))
                request.Content.Headers.TryAddWithoutValidation(name, value);
        return request;
    }
}
