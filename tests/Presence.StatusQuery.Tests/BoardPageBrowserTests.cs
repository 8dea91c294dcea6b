using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Playwright;
using Presence.Testing.Browser;
using static Microsoft.Playwright.Assertions;

namespace Presence.StatusQuery.Tests;

/// <summary>
/// The board page in a real Chromium (Debian's, driven by Microsoft.Playwright) against status-query on a real
/// Kestrel port, with short windows on the real clock. Screenshots go to <c>.artifacts/status-query/</c>.
/// </summary>
public sealed class BoardPageBrowserTests(RedisServer redis)
{
    private const int Width = 900;
    private const int Height = 600;
    private static readonly float Patience = 20_000;

    [Fact(Timeout = 180_000)]
    public async Task Page_shows_a_therapist_online_after_heartbeats_then_recent_when_the_online_window_passes_with_counts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = StartApp(redis);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.NewPageAsync(Width, Height);
        await page.GotoAsync(BaseUrl(app));
        await Expect(page.Locator("#empty")).ToBeVisibleAsync(new() { Timeout = Patience });

        // Heartbeats keep t-ada online until the page has shown it; then they stop and the window runs out.
        using var beating = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var beats = BeatUntilCancelledAsync(app, "t-ada", beating.Token);
        await app.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-bo", true, ct);
        var ada = page.Locator("li.therapist[data-id='t-ada']");
        await Expect(ada).ToHaveAttributeAsync("data-status", "online", new() { Timeout = Patience });
        await Expect(ada.Locator(".label")).ToHaveTextAsync("Online now");
        await Expect(page.Locator("[data-count='online']")).ToHaveTextAsync("1");
        await Expect(page.Locator("[data-count='available']")).ToHaveTextAsync("1");
        await Expect(page.Locator("li.therapist[data-id='t-bo'] .label")).ToHaveTextAsync("Available");
        Assert.Equal("rgb(26, 127, 55)", await ada.Locator(".dot").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        await page.ScreenshotAsync(new() { Path = Artifact("board-online.png"), FullPage = true });
        await beating.CancelAsync();
        await beats;

        await Expect(ada).ToHaveAttributeAsync("data-status", "recent", new() { Timeout = Patience });
        await Expect(ada.Locator(".label")).ToHaveTextAsync("Recently active · just now");
        await Expect(page.Locator("[data-count='online']")).ToHaveTextAsync("0");
        await Expect(page.Locator("[data-count='recent']")).ToHaveTextAsync("1");
        Assert.Equal("rgb(176, 136, 0)", await ada.Locator(".dot").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        // The gateway of this configuration is unreachable: the page says so and keeps polling.
        await Expect(page.Locator("#connection")).ToContainTextAsync("polling");
        await page.ScreenshotAsync(new() { Path = Artifact("board-recent.png"), FullPage = true });
    }

    [Fact(Timeout = 120_000)]
    public async Task Page_works_by_polling_alone_when_the_client_module_is_missing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = StartApp(redis);
        await app.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-cy", true, ct);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.NewPageAsync(Width, Height);
        await page.RouteAsync("**/js/presence.js", route => route.FulfillAsync(new() { Status = 404 }));

        await page.GotoAsync(BaseUrl(app));

        await Expect(page.Locator("li.therapist[data-id='t-cy'] .label")).ToHaveTextAsync("Available", new() { Timeout = Patience });
        await Expect(page.Locator("[data-count='available']")).ToHaveTextAsync("1");
        await Expect(page.Locator("#connection")).ToContainTextAsync("unavailable (polling every 1 s)");
    }

    [Fact(Timeout = 120_000)]
    public async Task Page_applies_presence_changed_pushes_from_the_gateway_without_waiting_for_a_poll()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = await FakeGateway.StartAsync();
        // Polls are ten minutes apart here: only the push can change the page within the test.
        await using var app = StartApp(redis, gateway.Url, pollInterval: "00:10:00");
        Assert.True(app.Services.GetRequiredService<IWebHostEnvironment>().WebRootFileProvider.GetFileInfo("js/presence.js").Exists,
            "wwwroot/js/presence.js is missing: run ./dev.sh build-web (it is built from clients/js).");
        await app.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-dee", true, ct);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.NewPageAsync(Width, Height);
        await page.GotoAsync(BaseUrl(app));
        var dee = page.Locator("li.therapist[data-id='t-dee']");
        await Expect(dee).ToHaveAttributeAsync("data-status", "available", new() { Timeout = Patience });
        await Expect(page.Locator("#connection")).ToHaveTextAsync("Live updates: on", new() { Timeout = Patience });
        await gateway.WaitForWatcherAsync(ct);

        // As the gateway does: the store records the heartbeat, then the change is pushed.
        var beat = await app.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-dee", HeartbeatTransport.Rest), ct);
        await gateway.PushAsync(new { role = "therapist", id = "t-dee", ver = beat.Ver, at = DateTimeOffset.UtcNow, status = "online", available = true,
            lastActive = DateTimeOffset.UtcNow, reason = "heartbeat" }, ct);

        await Expect(dee).ToHaveAttributeAsync("data-status", "online", new() { Timeout = Patience });
        await Expect(dee.Locator(".label")).ToHaveTextAsync("Online now");
        await Expect(page.Locator("[data-count='online']")).ToHaveTextAsync("1");
        await Expect(page.Locator("[data-count='available']")).ToHaveTextAsync("0");

        // An older version (a late, reclaimed push) is dropped: after a later push has been applied, t-dee is unchanged.
        await gateway.PushAsync(new { role = "therapist", id = "t-dee", ver = beat.Ver - 1, at = DateTimeOffset.UtcNow, status = "offline", available = false,
            reason = "expired" }, ct);
        await gateway.PushAsync(new { role = "therapist", id = "t-sentinel", ver = 1, at = DateTimeOffset.UtcNow, status = "online", available = false,
            lastActive = DateTimeOffset.UtcNow, reason = "join" }, ct);
        await Expect(page.Locator("li.therapist[data-id='t-sentinel']")).ToHaveAttributeAsync("data-status", "online", new() { Timeout = Patience });
        await Expect(dee).ToHaveAttributeAsync("data-status", "online");
        await page.ScreenshotAsync(new() { Path = Artifact("board-pushed.png"), FullPage = true });
    }

    private static StatusQueryApp StartApp(RedisServer redis, string gatewayUrl = "http://127.0.0.1:9", string pollInterval = "00:00:01")
    {
        var app = new StatusQueryApp(redis) { RealClock = true };
        app.Settings["Presence:OnlineWindow"] = "00:00:04";
        app.Settings["Presence:HeartbeatInterval"] = "00:00:02";
        app.Settings["Presence:MinHeartbeatInterval"] = "00:00:01";
        app.Settings["StatusQuery:BoardRefreshInterval"] = "00:00:01";
        app.Settings["StatusQuery:PagePollInterval"] = pollInterval;
        // By default nothing listens there: the page must fall back to polling.
        app.Settings["StatusQuery:GatewayUrl"] = gatewayUrl;
        app.UseKestrel(0);
        app.StartServer();
        return app;
    }

    private static string BaseUrl(StatusQueryApp app) =>
        app.Services.ServerAddress() + "/";

    private static async Task BeatUntilCancelledAsync(StatusQueryApp app, string id, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await app.BeatAsync(id);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string Artifact(string name)
    {
        var folder = RepoRoot.Path(".artifacts", "status-query");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    /// <summary>A stand-in for the realtime gateway's hub contract (docs/architecture.md, "Hub"): <c>watchTherapists</c> and <c>presence-changed</c>.</summary>
    private sealed class FakeGateway : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeGateway(WebApplication app) => _app = app;

        public string Url => _app.Urls.First();

        public static async Task<FakeGateway> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddSignalR();
            builder.Services.AddSingleton<Watchers>();
            builder.Services.AddCors(o => o.AddDefaultPolicy(p => p.SetIsOriginAllowed(_ => true).AllowAnyHeader().AllowAnyMethod().AllowCredentials()));
            var app = builder.Build();
            app.UseCors();
            app.MapHub<PresenceHub>("/hubs/presence");
            await app.StartAsync();
            return new FakeGateway(app);
        }

        public async Task WaitForWatcherAsync(CancellationToken ct)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (_app.Services.GetRequiredService<Watchers>().Count == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "The page never called watchTherapists.");
                await Task.Delay(50, ct);
            }
        }

        public Task PushAsync(object change, CancellationToken ct) =>
            _app.Services.GetRequiredService<IHubContext<PresenceHub>>().Clients.Group(PresenceHub.Therapists).SendAsync("presence-changed", change, ct);

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }

    private sealed class Watchers
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Add() => Interlocked.Increment(ref _count);
    }

    private sealed class PresenceHub(Watchers watchers) : Hub
    {
        public const string Therapists = "therapists";

        public async Task WatchTherapists()
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, Therapists);
            watchers.Add();
        }
    }
}
