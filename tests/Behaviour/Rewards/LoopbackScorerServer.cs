using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Omni.Algebra.Rewards;
using Omni.Effects.Imaging;

namespace Omni.Tests.Behaviour.Rewards;

/// <summary>A request the test server received, decoded.</summary>
public sealed record ScorerCall(int Index, IReadOnlyList<RgbImage> Images, IReadOnlyList<string> Prompts, string? Authorization);

/// <summary>What the test server sends back.</summary>
public sealed record ScorerReply(int Status, string Body, TimeSpan Delay = default, string? RetryAfter = null)
{
    public static ScorerReply Scores(IEnumerable<double> scores) =>
        new(200, JsonSerializer.Serialize(new { scores = scores.ToArray(), components = new { x = new[] { 1 } } }));
}

/// <summary>
/// A real HTTP scoring server on loopback (HttpListener on 127.0.0.1, a free port). It decodes the PNGs of every
/// request and answers with what the script says; by default the mean brightness of each image.
/// </summary>
public sealed class LoopbackScorerServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<ScorerCall, ScorerReply> _script;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<ScorerCall> _calls = [];

    public LoopbackScorerServer(Func<ScorerCall, ScorerReply>? script = null)
    {
        _script = script ?? Brightness;
        var port = FreePort();
        Endpoint = new Uri($"http://127.0.0.1:{port}/score/");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public Uri Endpoint { get; }

    public IReadOnlyList<ScorerCall> Calls { get { lock (_calls) return _calls.ToList(); } }

    public static ScorerReply Brightness(ScorerCall call) => ScorerReply.Scores(call.Images.Select(TestImages.MeanBrightness));

    private async Task Serve()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            using var json = JsonDocument.Parse(await reader.ReadToEndAsync());
            var images = json.RootElement.GetProperty("images").EnumerateArray()
                .Select(e => ImageCodecs.DecodePng(e.GetBytesFromBase64())).ToList();
            var prompts = json.RootElement.GetProperty("prompts").EnumerateArray().Select(e => e.GetString()!).ToList();
            ScorerCall call;
            lock (_calls)
            {
                call = new ScorerCall(_calls.Count, images, prompts, context.Request.Headers["Authorization"]);
                _calls.Add(call);
            }
            var reply = _script(call);
            if (reply.Delay > TimeSpan.Zero)
            {
                try { await Task.Delay(reply.Delay, _stop.Token); } catch (OperationCanceledException) { }
            }
            context.Response.StatusCode = reply.Status;
            if (reply.RetryAfter is not null) context.Response.AddHeader("Retry-After", reply.RetryAfter);
            var bytes = Encoding.UTF8.GetBytes(reply.Body);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception)
        {
            // The client may have given up (timeout, cancellation) and closed the connection: nothing to answer.
            try { context.Response.Abort(); } catch (Exception) { }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try { await _loop; } catch (Exception) { }
        _stop.Dispose();
    }
}
