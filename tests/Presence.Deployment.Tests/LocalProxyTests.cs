using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Presence.LocalProxy;

namespace Presence.Deployment.Tests;

/// <summary>
/// The local proxy of <c>./dev.sh up</c> (tools/Presence.LocalProxy, http://localhost:3001) routes every path exactly as
/// the rendered Ingress does: the real proxy, from its real route table, in front of three stand-in backends that
/// answer with their service name; every Ingress path (and below it, and beside it) is sent through both.
/// </summary>
public sealed class LocalProxyTests : IAsyncLifetime
{
    private static readonly string[] Backends = ["heartbeat-api", "realtime-gateway", "status-query"];
    private readonly List<WebApplication> _apps = [];
    private string _proxy = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Repo.Path("tools", "Presence.LocalProxy") });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        foreach (var name in Backends)
        {
            builder.Configuration[$"ReverseProxy:Clusters:{name}:Destinations:local:Address"] = await StartBackendAsync(name);
        }

        var proxy = LocalProxyApp.Build(builder);
        await proxy.StartAsync(Ct);
        _apps.Add(proxy);
        _proxy = proxy.Services.ServerAddress();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Every_ingress_path_is_routed_by_the_local_proxy_to_the_same_service()
    {
        var router = new IngressRouter(Kustomize.Overlay("dev"));
        var samples = router.Paths.SelectMany(p => new[] { p.Path, p.Path.TrimEnd('/') + "/x", p.Path.TrimEnd('/') + "x" })
            .Concat(IngressTests.Contract.Select(c => c.Path))
            .Where(p => p.StartsWith('/'))
            .Append("/index.html").Append("/js/presence.js").Append("/openapi/v1.json")
            .Distinct(StringComparer.Ordinal)
            .ToList();
        using var http = new HttpClient();

        foreach (var path in samples)
        {
            var expected = router.Route(path);
            using var response = await http.GetAsync(_proxy + path, Ct);
            if (expected is null)
            {
                Assert.Fail($"the ingress routes {path} nowhere");
            }
            else if (expected.Annotations.ContainsKey("nginx.ingress.kubernetes.io/denylist-source-range"))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path}: denied by the ingress, but the proxy answered {(int)response.StatusCode}");
            }
            else
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: the proxy answered {(int)response.StatusCode}");
                Assert.True(expected.Service == await response.Content.ReadAsStringAsync(Ct),
                    $"{path}: the ingress sends it to {expected.Service}, the proxy to {await response.Content.ReadAsStringAsync(Ct)} (tools/Presence.LocalProxy/appsettings.json)");
            }
        }

        Assert.True(samples.Count > 30, $"only {samples.Count} paths compared");
    }

    [Fact]
    public async Task The_hub_path_passes_websockets_through_to_the_gateway()
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri("ws" + _proxy[4..] + "/hubs/presence?id=1"), Ct);

        await socket.SendAsync(Encoding.UTF8.GetBytes("ping"), WebSocketMessageType.Text, true, Ct);
        var buffer = new byte[256];
        var received = await socket.ReceiveAsync(buffer, Ct);

        Assert.Equal("realtime-gateway:ping", Encoding.UTF8.GetString(buffer, 0, received.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
    }

    /// <summary>A backend that answers every request with its name, and echoes WebSocket messages prefixed with it.</summary>
    private async Task<string> StartBackendAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await context.Response.WriteAsync(name);
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[256];
            var message = await socket.ReceiveAsync(buffer, context.RequestAborted);
            await socket.SendAsync(Encoding.UTF8.GetBytes($"{name}:{Encoding.UTF8.GetString(buffer, 0, message.Count)}"),
                WebSocketMessageType.Text, true, context.RequestAborted);
            await socket.ReceiveAsync(buffer, context.RequestAborted);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
        });
        await app.StartAsync(Ct);
        _apps.Add(app);
        return app.Services.ServerAddress() + "/";
    }
}
