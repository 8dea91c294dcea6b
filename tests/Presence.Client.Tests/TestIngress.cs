using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Presence.Client.Tests;

/// <summary>One request the ingress passed on: when it arrived, what it was, what the backend answered.</summary>
public sealed record ProxiedRequest(DateTimeOffset At, string Method, string Path, int Status, string? RetryAfter);

/// <summary>
/// The production ingress in miniature (k8s/base/ingress.yaml): one origin, path routing to the services, WebSockets
/// passed through. Browsers then meet the services as they do in production, same-origin, so the module's default
/// relative URLs are what is tested. Every proxied request is logged; the gateway's address can change (a restart).
/// </summary>
public sealed class TestIngress : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Host", "Proxy-Connection", "TE", "Trailer",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, AutomaticDecompression = System.Net.DecompressionMethods.None });
    private readonly ConcurrentQueue<ProxiedRequest> _log = new();

    private TestIngress(WebApplication app, string heartbeatApi, string statusQuery, string gateway)
    {
        _app = app;
        HeartbeatApi = heartbeatApi;
        StatusQuery = statusQuery;
        Gateway = gateway;
    }

    public string Url => _app.Urls.First().TrimEnd('/');

    public string HeartbeatApi { get; set; }

    public string StatusQuery { get; set; }

    /// <summary>Where <c>/hubs</c> goes; set a new address after restarting the gateway.</summary>
    public string Gateway { get; set; }

    public IReadOnlyList<ProxiedRequest> Log => [.. _log];

    public IReadOnlyList<ProxiedRequest> Requests(string method, string path) =>
        [.. _log.Where(r => r.Method == method && r.Path == path)];

    public static async Task<TestIngress> StartAsync(string heartbeatApi, string statusQuery, string gateway)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var ingress = new TestIngress(app, heartbeatApi, statusQuery, gateway);
        app.UseWebSockets();
        app.Run(ingress.HandleAsync);
        await app.StartAsync();
        return ingress;
    }

    private string Route(PathString path)
    {
        if (path.StartsWithSegments("/hubs"))
        {
            return Gateway;
        }

        foreach (var prefix in new[] { "/v1/therapists/heartbeat", "/v1/community/heartbeat", "/v1/therapists/availability", "/v1/therapists/offline", "/v1/community/offline" })
        {
            if (path.StartsWithSegments(prefix))
            {
                return HeartbeatApi;
            }
        }

        return StatusQuery;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path == "/blank.html")
        {
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<!doctype html><html><head><title>presence.js test</title></head><body></body></html>");
            return;
        }

        var at = DateTimeOffset.UtcNow;
        var backend = Route(context.Request.Path);
        var target = backend + context.Request.Path + context.Request.QueryString;
        if (context.WebSockets.IsWebSocketRequest)
        {
            await PipeWebSocketAsync(context, target);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(context.Request.Body);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopHeaders.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException)
        {
            _log.Enqueue(new ProxiedRequest(at, context.Request.Method, context.Request.Path, 502, null));
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        using (response)
        {
            _log.Enqueue(new ProxiedRequest(at, context.Request.Method, context.Request.Path, (int)response.StatusCode,
                response.Headers.RetryAfter?.ToString()));
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopHeaders.Contains(name))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            try
            {
                await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // The browser went away (a page closed mid-request).
            }
        }
    }

    private async Task PipeWebSocketAsync(HttpContext context, string target)
    {
        using var upstream = new ClientWebSocket();
        try
        {
            await upstream.ConnectAsync(new Uri("ws" + target[4..]), context.RequestAborted);
        }
        catch (WebSocketException)
        {
            _log.Enqueue(new ProxiedRequest(DateTimeOffset.UtcNow, "WS", context.Request.Path, 502, null));
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        _log.Enqueue(new ProxiedRequest(DateTimeOffset.UtcNow, "WS", context.Request.Path, 101, null));
        using var downstream = await context.WebSockets.AcceptWebSocketAsync();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var up = PumpAsync(downstream, upstream, done.Token);
        var down = PumpAsync(upstream, downstream, done.Token);
        await Task.WhenAny(up, down);
        await done.CancelAsync();
        // Whichever side ended, the other ends too: a gateway restart closes the browser's socket.
        foreach (var socket in new WebSocket[] { downstream, upstream })
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "upstream closed", timeout.Token);
                }
                catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
                {
                }
            }

            socket.Abort();
        }
    }

    private static async Task PumpAsync(WebSocket from, WebSocket to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var result = await from.ReceiveAsync(buffer, ct);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, ct);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
