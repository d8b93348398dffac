using System.Net;
using System.Net.Http.Headers;

namespace Omni.Rewards.Http;

/// <summary>When and how long the HTTP scorer waits before trying again. Pure.</summary>
public static class RetryPolicy
{
    /// <summary>
    /// Whether a response status is worth retrying: 5xx (the server or a proxy failed) and 429 (rate limited).
    /// Other 4xx mean the request itself is wrong, and sending it again cannot help.
    /// </summary>
    public static bool IsRetryable(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.TooManyRequests;

    /// <summary>
    /// The wait before retry number <paramref name="retry"/> (1 for the first): the server's Retry-After when it gave
    /// one (capped at <paramref name="maxRetryAfter"/>), otherwise <paramref name="baseDelay"/>·2^(retry−1).
    /// </summary>
    public static TimeSpan Delay(int retry, TimeSpan baseDelay, RetryConditionHeaderValue? retryAfter, DateTimeOffset now, TimeSpan maxRetryAfter)
    {
        var server = retryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ => (TimeSpan?)null,
        };
        if (server is { } wait)
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > maxRetryAfter ? maxRetryAfter : wait;
        var factor = Math.Pow(2, Math.Min(retry - 1, 30));
        return TimeSpan.FromTicks((long)Math.Min(baseDelay.Ticks * factor, TimeSpan.FromHours(1).Ticks));
    }
}
