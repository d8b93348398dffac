using System.Diagnostics;
using Omni.Algebra.Rewards;
using Omni.Rewards;
using Omni.Rewards.Http;

namespace Omni.Tests.Behaviour.Rewards;

public sealed class HttpScorerTests
{
    private static RewardBatch Batch(int count) => RewardBatch.Of(
        Enumerable.Range(0, count).Select(i => TestImages.Flat(8, 8, (byte)(i * 20), (byte)(i * 20), (byte)(i * 20))),
        Enumerable.Range(0, count).Select(i => $"prompt {i}"));

    private static HttpScorerOptions Options(LoopbackScorerServer server, int maxRetries = 3, int batchSize = 32, double timeoutSeconds = 10) => new()
    {
        Endpoint = server.Endpoint,
        Name = "brightness",
        MaxRetries = maxRetries,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        BatchSize = batchSize,
        Timeout = TimeSpan.FromSeconds(timeoutSeconds),
    };

    [Fact]
    public async Task Scores_come_back_in_order_and_headers_are_sent()
    {
        await using var server = new LoopbackScorerServer();
        var reward = HttpScorer.Create(Options(server).WithBearerToken("s3cret"));
        var scores = await reward.Score(Batch(3), CancellationToken.None);
        Assert.Equal("brightness", reward.Name);
        Assert.Equal([0f, 20 / 255f, 40 / 255f], scores);
        var call = Assert.Single(server.Calls);
        Assert.Equal(["prompt 0", "prompt 1", "prompt 2"], call.Prompts);
        Assert.Equal("Bearer s3cret", call.Authorization);
    }

    [Fact]
    public async Task Large_batches_are_split_in_order()
    {
        await using var server = new LoopbackScorerServer();
        var scores = await HttpScorer.Create(Options(server, batchSize: 2)).Score(Batch(5), CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => i * 20 / 255f), scores);
        Assert.Equal([2, 2, 1], server.Calls.Select(c => c.Images.Count));
        Assert.Equal("prompt 4", server.Calls[2].Prompts[0]);
    }

    [Fact]
    public async Task A_500_is_retried_then_succeeds()
    {
        await using var server = new LoopbackScorerServer(c => c.Index == 0 ? new ScorerReply(500, "model warming up") : LoopbackScorerServer.Brightness(c));
        var scores = await HttpScorer.Create(Options(server)).Score(Batch(2), CancellationToken.None);
        Assert.Equal(2, scores.Length);
        Assert.Equal(2, server.Calls.Count);
    }

    [Fact]
    public async Task A_429_waits_for_Retry_After()
    {
        await using var server = new LoopbackScorerServer(c => c.Index == 0 ? new ScorerReply(429, "slow down", RetryAfter: "1") : LoopbackScorerServer.Brightness(c));
        var clock = Stopwatch.StartNew();
        await HttpScorer.Create(Options(server)).Score(Batch(1), CancellationToken.None);
        // The configured delay is 10 ms; only the server's Retry-After: 1 explains a wait of about a second.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {clock.Elapsed}");
        Assert.Equal(2, server.Calls.Count);
    }

    [Fact]
    public async Task A_400_is_not_retried_and_the_message_says_why()
    {
        await using var server = new LoopbackScorerServer(_ => new ScorerReply(400, "{\"error\": \"prompt too long\"}"));
        var e = await Assert.ThrowsAsync<RewardException>(() => HttpScorer.Create(Options(server)).Score(Batch(1), CancellationToken.None));
        Assert.Single(server.Calls);
        Assert.Contains(server.Endpoint.ToString(), e.Message);
        Assert.Contains("HTTP 400", e.Message);
        Assert.Contains("prompt too long", e.Message);
        Assert.Contains("attempt 1", e.Message);
        Assert.Equal("brightness", e.RewardName);
    }

    [Fact]
    public async Task Persistent_5xx_fails_after_all_attempts()
    {
        await using var server = new LoopbackScorerServer(_ => new ScorerReply(503, "overloaded"));
        var e = await Assert.ThrowsAsync<RewardException>(() => HttpScorer.Create(Options(server, maxRetries: 2)).Score(Batch(1), CancellationToken.None));
        Assert.Equal(3, server.Calls.Count);
        Assert.Contains("after 3 attempts", e.Message);
        Assert.Contains("HTTP 503", e.Message);
        Assert.Contains("overloaded", e.Message);
    }

    [Fact]
    public async Task A_server_slower_than_the_timeout_fails_after_retries()
    {
        await using var server = new LoopbackScorerServer(c => LoopbackScorerServer.Brightness(c) with { Delay = TimeSpan.FromSeconds(5) });
        var e = await Assert.ThrowsAsync<RewardException>(
            () => HttpScorer.Create(Options(server, maxRetries: 1, timeoutSeconds: 0.3)).Score(Batch(1), CancellationToken.None));
        Assert.Contains("after 2 attempts", e.Message);
        Assert.Contains("no complete response within 0.3 s", e.Message);
        Assert.Equal(2, server.Calls.Count);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_and_reported()
    {
        Uri endpoint;
        await using (var gone = new LoopbackScorerServer()) endpoint = gone.Endpoint;
        var options = new HttpScorerOptions { Endpoint = endpoint, Name = "gone", MaxRetries = 1, RetryDelay = TimeSpan.Zero };
        var e = await Assert.ThrowsAsync<RewardException>(() => HttpScorer.Create(options).Score(Batch(1), CancellationToken.None));
        Assert.Contains("after 2 attempts", e.Message);
        Assert.Contains("request failed", e.Message);
    }

    [Theory]
    [InlineData("not json at all", "not valid JSON")]
    [InlineData("{\"score\": [1]}", "no \"scores\" array")]
    [InlineData("{\"scores\": [1, 2]}", "2 scores for 1 images")]
    [InlineData("{\"scores\": [\"NaN\"]}", "score 0 is \"NaN\", not a finite number")]
    [InlineData("{\"scores\": [1e999]}", "not a finite number")]
    public async Task Bad_responses_fail_at_once_with_the_problem(string body, string expected)
    {
        await using var server = new LoopbackScorerServer(_ => new ScorerReply(200, body));
        var e = await Assert.ThrowsAsync<RewardException>(() => HttpScorer.Create(Options(server)).Score(Batch(1), CancellationToken.None));
        Assert.Contains(expected, e.Message);
        Assert.Contains("HTTP 200", e.Message);
        Assert.Single(server.Calls);
    }

    [Fact]
    public async Task Cancellation_stops_a_waiting_request()
    {
        await using var server = new LoopbackScorerServer(c => LoopbackScorerServer.Brightness(c) with { Delay = TimeSpan.FromSeconds(30) });
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => HttpScorer.Create(Options(server, timeoutSeconds: 60)).Score(Batch(1), cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Single(server.Calls);
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        var e = Assert.Throws<ArgumentException>(() => HttpScorer.Create(new HttpScorerOptions
        {
            Endpoint = new Uri("ftp://example.org/score"), Name = " ", Timeout = TimeSpan.Zero, MaxRetries = -1, BatchSize = 0,
        }));
        foreach (var part in new[] { "absolute http:// or https://", "Name", "Timeout", "MaxRetries", "BatchSize" })
            Assert.Contains(part, e.Message);
        Assert.Throws<ArgumentException>(() => HttpScorer.Create(new HttpScorerOptions { Endpoint = new Uri("/relative", UriKind.Relative), Name = "x" }));
    }

    [Fact]
    public void Backoff_doubles_and_Retry_After_wins()
    {
        var now = DateTimeOffset.UnixEpoch;
        var cap = TimeSpan.FromMinutes(5);
        Assert.Equal(TimeSpan.FromSeconds(1), RetryPolicy.Delay(1, TimeSpan.FromSeconds(1), null, now, cap));
        Assert.Equal(TimeSpan.FromSeconds(4), RetryPolicy.Delay(3, TimeSpan.FromSeconds(1), null, now, cap));
        Assert.Equal(TimeSpan.FromSeconds(7), RetryPolicy.Delay(3, TimeSpan.FromSeconds(1), new(TimeSpan.FromSeconds(7)), now, cap));
        Assert.Equal(cap, RetryPolicy.Delay(1, TimeSpan.FromSeconds(1), new(TimeSpan.FromHours(2)), now, cap));
        Assert.True(RetryPolicy.IsRetryable(System.Net.HttpStatusCode.TooManyRequests));
        Assert.False(RetryPolicy.IsRetryable(System.Net.HttpStatusCode.NotFound));
    }
}
