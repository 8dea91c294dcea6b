using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Presence.LocalProxy;
using Presence.Testing.Browser;
using static Microsoft.Playwright.Assertions;

namespace Presence.Client.Tests;

/// <summary>
/// <c>@presence/client</c> as a frontend uses it: a small React app (clients/js/e2e/app.tsx) that imports the package by
/// name is bundled by esbuild, served from its own origin (as a frontend on :3000), and run in Chromium against
/// heartbeat-api, status-query and the gateway behind the real local proxy (tools/Presence.LocalProxy, as :3001), with
/// <c>configure({ backendUrl: ".../v1" })</c>: CORS, the proxy's routes and WebSockets are all on the path.
/// </summary>
public sealed class PackageEndToEndTests(RedisServer redis) : IAsyncLifetime
{
    private readonly string _prefix = RedisServer.NewKeyPrefix();
    private readonly List<IAsyncDisposable> _hosts = [];
    private readonly ConcurrentQueue<(string Method, string Path, string? Authorization)> _requests = new();
    private readonly ConcurrentQueue<string> _pageErrors = new();
    private IServiceHost _heartbeatApi = null!;
    private string _frontend = null!;
    private string _proxy = null!;
    private HeadlessChromium _chromium = null!;

    private PresenceKeys Keys => new(_prefix);

    public async ValueTask InitializeAsync()
    {
        var app = ClientsJs.NewOutputDirectory("e2e-app");
        await ClientsJs.RunNodeAsync("e2e/build.mjs", "--out", app);
        _frontend = await StartAsync(WebApplication.CreateSlimBuilder(), a => a.UseFileServer(new FileServerOptions { FileProvider = new PhysicalFileProvider(app) }));

        var settings = new Dictionary<string, string?>
        {
            ["Presence:OnlineWindow"] = "00:00:06",
            ["Presence:HeartbeatInterval"] = "00:00:02",
            ["Presence:MinHeartbeatInterval"] = "00:00:01",
            // A logout leaves after the grace: 1 s, well inside the 10 s the test waits (the 10 s default raced it).
            ["Presence:LeaveGrace"] = "00:00:01",
            // The frontend's origin, as a deployment sets it: every service grants it CORS.
            ["FRONTEND_URL"] = _frontend,
        };
        _heartbeatApi = ServiceHosts.Create(PresenceService.HeartbeatApi, redis, _prefix, settings, realClock: true);
        var statusQuery = ServiceHosts.Create(PresenceService.StatusQuery, redis, _prefix, settings, realClock: true);
        var gateway = ServiceHosts.Create(PresenceService.RealtimeGateway, redis, _prefix, settings, realClock: true);
        _hosts.AddRange([gateway, statusQuery, _heartbeatApi]);

        var proxy = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Path.Combine(ClientsJs.RepoRoot, "tools", "Presence.LocalProxy") });
        proxy.Configuration["ReverseProxy:Clusters:heartbeat-api:Destinations:local:Address"] = _heartbeatApi.StartKestrel() + "/";
        proxy.Configuration["ReverseProxy:Clusters:status-query:Destinations:local:Address"] = statusQuery.StartKestrel() + "/";
        proxy.Configuration["ReverseProxy:Clusters:realtime-gateway:Destinations:local:Address"] = gateway.StartKestrel() + "/";
        _proxy = await StartAsync(proxy, null);

        _chromium = await HeadlessChromium.LaunchAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _chromium.DisposeAsync();
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            await host.DisposeAsync();
        }
    }

    [Fact(Timeout = 150_000)]
    public async Task Bundled_react_app_heartbeats_renders_a_watched_change_and_refreshes_its_token_without_a_sign_off()
    {
        var ct = TestContext.Current.CancellationToken;
        var page = await OpenAsync(ct);
        var first = DevTokens.Therapist("t-e2e");

        await page.EvaluateAsync("t => app.login(t)", first);

        // The heartbeat crossed origins (CORS) through the proxy and landed in Redis.
        await Poll.UntilAsync(() => OnlineAsync("t-e2e"), "t-e2e online in Redis", timeout: TimeSpan.FromSeconds(15));
        await Expect(page.Locator("#heartbeat")).ToHaveTextAsync("accepted");

        // A watched therapist comes online: the gateway's push reaches the page over the proxied WebSocket.
        Assert.NotEqual("online", await page.Locator("#watched").GetAttributeAsync("data-status"));
        var store = _heartbeatApi.Services.GetRequiredService<PresenceStore>();
        await store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-watched", Core.HeartbeatTransport.Hub), ct);
        await Expect(page.Locator("#watched")).ToHaveAttributeAsync("data-status", "online", new() { Timeout = 15_000 });
        await Expect(page.Locator("#board li[data-id='t-watched']")).ToHaveAttributeAsync("data-status", "online", new() { Timeout = 15_000 });

        // The app refreshes its token (a new one, 2 h): heartbeats carry on with it, nobody is signed off.
        var refreshed = DevTokens.Mint("therapist", "t-e2e", lifetime: TimeSpan.FromHours(2));
        Assert.NotEqual(first, refreshed);
        await page.EvaluateAsync("t => app.refresh(t)", refreshed);
        await Poll.UntilAsync(() => Task.FromResult(Heartbeats().Any(r => r.Authorization == "Bearer " + refreshed)), "a heartbeat with the refreshed token", timeout:
            TimeSpan.FromSeconds(15));
        Assert.Empty(SignOffs());
        Assert.True(await OnlineAsync("t-e2e"));
        Assert.Empty(_pageErrors);

        // Logout signs off, once.
        await page.EvaluateAsync("() => app.logout()");
        await Poll.UntilAsync(async () => !await OnlineAsync("t-e2e"), "t-e2e signed off", timeout: TimeSpan.FromSeconds(10));
        Assert.Single(SignOffs());
        Assert.False(await page.EvaluateAsync<bool>("() => app.heartbeat.isRunning()"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_hub_connection_with_a_token_heartbeats_by_itself_while_connected()
    {
        var page = await OpenAsync(TestContext.Current.CancellationToken, "&live=off");

        await page.EvaluateAsync("t => app.connect(t)", DevTokens.Therapist("t-hub"));

        await Poll.UntilAsync(() => OnlineAsync("t-hub"), "t-hub online in Redis", timeout: TimeSpan.FromSeconds(15));
        var firstUntil = await OnlineUntilAsync("t-hub");
        // Two more heartbeats (2 s apart) move online-until on; nothing but the connection sent them.
        await Poll.UntilAsync(async () => await OnlineUntilAsync("t-hub") >= firstUntil + 3_000, "online-until moved on by later hub heartbeats", timeout: TimeSpan.FromSeconds(20));
        Assert.Empty(Heartbeats());
        Assert.Equal("connected", await page.EvaluateAsync<string>("() => app.realtime.state()"));
    }

    private async Task<IPage> OpenAsync(CancellationToken ct, string query = "")
    {
        ct.ThrowIfCancellationRequested();
        var page = await _chromium.NewPageAsync();
        page.Request += (_, request) =>
        {
            if (request.Url.StartsWith(_proxy, StringComparison.Ordinal) && request.Method != "OPTIONS")
            {
                request.Headers.TryGetValue("authorization", out var authorization);
                _requests.Enqueue((request.Method, new Uri(request.Url).AbsolutePath, authorization));
            }
        };
        page.PageError += (_, error) => _pageErrors.Enqueue(error);
        await page.GotoAsync($"{_frontend}/index.html?backend={Uri.EscapeDataString(_proxy + "/v1")}{query}");
        await page.WaitForFunctionAsync("() => window.app !== undefined");
        return page;
    }

    private List<(string Method, string Path, string? Authorization)> Heartbeats() =>
        [.. _requests.Where(r => r.Method == "POST" && r.Path == "/v1/therapists/heartbeat")];

    private List<(string Method, string Path, string? Authorization)> SignOffs() =>
        [.. _requests.Where(r => r.Method == "POST" && r.Path == "/v1/therapists/offline")];

    private async Task<bool> OnlineAsync(string id) => await OnlineUntilAsync(id) > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private async Task<double> OnlineUntilAsync(string id) =>
        await redis.Database.SortedSetScoreAsync(Keys.Online(Core.PresenceRole.Therapist, id), id) ?? 0;

    private async Task<string> StartAsync(WebApplicationBuilder builder, Action<WebApplication>? configure)
    {
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        WebApplication app;
        if (configure is null)
        {
            app = LocalProxyApp.Build(builder);
        }
        else
        {
            app = builder.Build();
            configure(app);
        }

        await app.StartAsync(TestContext.Current.CancellationToken);
        _hosts.Add(app);
        return app.Services.ServerAddress();
    }
}
