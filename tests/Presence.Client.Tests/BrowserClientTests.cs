using Microsoft.Playwright;

namespace Presence.Client.Tests;

/// <summary>
/// /js/presence.js in a real Chromium (Debian's, driven by Microsoft.Playwright) against heartbeat-api, status-query and
/// the realtime gateway on real Kestrel ports behind <see cref="TestIngress"/> (one origin, as behind the production
/// ingress), on the real clock with short intervals.
/// </summary>
public sealed class BrowserClientTests(RedisServer redis) : BrowserStackTests(redis, Grace)
{
    /// <summary>Short, so "signed off" (online ends when the leave grace does) is seen within the tests' deadlines.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    [Fact(Timeout = 120_000)]
    public async Task Start_sends_a_heartbeat_that_lands_in_redis_and_stop_signs_off()
    {
        var page = await OpenAsync(await Stack.Chromium.Browser.NewContextAsync(), TestContext.Current.CancellationToken);

        await page.EvaluateAsync("t => presence.heartbeat.start(t, 'therapist')", DevTokens.Therapist("t-start"));

        await Poll.UntilAsync(async () => await OnlineAsync("t-start"), "t-start online in Redis", timeout: TimeSpan.FromSeconds(15));
        Assert.True(await page.EvaluateAsync<bool>("() => presence.heartbeat.isRunning()"));
        Assert.Equal("therapist", await page.EvaluateAsync<string>("() => presence.heartbeat.currentRole()"));
        // The server's 2 s interval is obeyed: a second heartbeat follows without anyone asking.
        await Poll.UntilAsync(() => Task.FromResult(Heartbeats("therapists").Count(r => r.Status == 200) >= 2), "a second heartbeat", timeout: TimeSpan.FromSeconds(15));
        Assert.Equal(2000, await page.EvaluateAsync<int>("() => presence.heartbeat.intervalMs()"));

        await page.EvaluateAsync("() => presence.heartbeat.stop()");
        await Poll.UntilAsync(async () => !await OnlineAsync("t-start"), "t-start signed off", timeout: TimeSpan.FromSeconds(10));
        Assert.False(await page.EvaluateAsync<bool>("() => presence.heartbeat.isRunning()"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Two_tabs_of_one_user_have_one_sender_and_the_other_takes_over_when_it_closes()
    {
        var context = await Stack.Chromium.Browser.NewContextAsync();
        var first = await OpenAsync(context, TestContext.Current.CancellationToken);
        var second = await OpenAsync(context, TestContext.Current.CancellationToken);
        var token = DevTokens.Community("c-tabs");

        await first.EvaluateAsync("t => presence.heartbeat.start(t, 'community')", token);
        await second.EvaluateAsync("t => presence.heartbeat.start(t, 'community')", token);
        await Poll.UntilAsync(() => Task.FromResult(Heartbeats("community").Count >= 4), "four heartbeats", timeout: TimeSpan.FromSeconds(20));

        var senders = new[] { await IsSenderAsync(first), await IsSenderAsync(second) };
        Assert.Equal(1, senders.Count(s => s));
        // Two senders would have sent twice as often and met the server's min interval (429).
        Assert.All(Heartbeats("community"), r => Assert.Equal(200, r.Status));
        AssertSpacedBy(Heartbeats("community"), TimeSpan.FromSeconds(1.5));

        var (closing, staying) = senders[0] ? (first, second) : (second, first);
        var before = Heartbeats("community").Count;
        await closing.CloseAsync();
        await Poll.UntilAsync(() => IsSenderAsync(staying), "the other tab became the sender", timeout: TimeSpan.FromSeconds(10));
        await Poll.UntilAsync(() => Task.FromResult(Heartbeats("community").Count >= before + 2), "heartbeats go on", timeout: TimeSpan.FromSeconds(15));
        Assert.All(Heartbeats("community"), r => Assert.Equal(200, r.Status));
        // The closing tab did not sign the user off while another tab was visible.
        Assert.Empty(Stack.Ingress.Requests("POST", "/v1/community/offline"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Hidden_past_the_grace_period_signs_off_and_visible_again_beats_at_once()
    {
        var page = await OpenAsync(await Stack.Chromium.Browser.NewContextAsync(), TestContext.Current.CancellationToken, "{ hiddenGraceMs: 1000 }");
        await page.EvaluateAsync("t => presence.heartbeat.start(t, 'therapist')", DevTokens.Therapist("t-hide"));
        await Poll.UntilAsync(async () => await OnlineAsync("t-hide"), "online", timeout: TimeSpan.FromSeconds(15));

        await SetVisibilityAsync(page, "hidden");

        await Poll.UntilAsync(async () => !await OnlineAsync("t-hide"), "signed off after the grace period", timeout: TimeSpan.FromSeconds(10));
        // The ingress logs a request once its answer is back, which can be just after Redis changed.
        await Poll.UntilAsync(() => Task.FromResult(Stack.Ingress.Requests("POST", "/v1/therapists/offline").Count > 0), "the sign-off logged", timeout: TimeSpan.FromSeconds(5));
        Assert.Single(Stack.Ingress.Requests("POST", "/v1/therapists/offline"));
        var beatsWhileHidden = Heartbeats("therapists").Count;

        await SetVisibilityAsync(page, "visible");
        await Poll.UntilAsync(async () => await OnlineAsync("t-hide"), "online again once visible", timeout: TimeSpan.FromSeconds(5));
        Assert.True(Heartbeats("therapists").Count > beatsWhileHidden);
    }

    [Fact(Timeout = 120_000)]
    public async Task Pagehide_signs_off_with_a_keepalive_request()
    {
        var page = await OpenAsync(await Stack.Chromium.Browser.NewContextAsync(), TestContext.Current.CancellationToken);
        await page.EvaluateAsync("t => presence.heartbeat.start(t, 'community')", DevTokens.Community("c-leave"));
        await Poll.UntilAsync(async () => await OnlineAsync("c-leave", Core.PresenceRole.Community), "online", timeout: TimeSpan.FromSeconds(15));

        await page.GotoAsync("about:blank");

        await Poll.UntilAsync(async () => !await OnlineAsync("c-leave", Core.PresenceRole.Community), "signed off on pagehide", timeout: TimeSpan.FromSeconds(10));
        // The ingress logs a request once its answer is back, which can be just after Redis changed.
        await Poll.UntilAsync(() => Task.FromResult(Stack.Ingress.Requests("POST", "/v1/community/offline").Count > 0), "the sign-off logged", timeout: TimeSpan.FromSeconds(5));
        Assert.Single(Stack.Ingress.Requests("POST", "/v1/community/offline"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_429_backs_off_by_retry_after()
    {
        // This browser (its device session) sent just now, under a long min interval: the page's first heartbeat is refused.
        // The min interval is per device: the page sends its device id, so the earlier beat is sent as that device.
        await using var server = ServiceHosts.Create(PresenceService.HeartbeatApi, Redis, Stack.Prefix, new Dictionary<string, string?>(Stack.Settings)
        {
            ["Presence:MinHeartbeatInterval"] = "00:00:04",
            ["Presence:HeartbeatInterval"] = "00:00:05",
        }, realClock: true);
        Stack.Ingress.HeartbeatApi = server.StartKestrel();
        var token = DevTokens.Therapist("t-429");
        var page = await OpenAsync(await Stack.Chromium.Browser.NewContextAsync(), TestContext.Current.CancellationToken);
        // The module keeps its device id in localStorage (made on first use): this browser's id, set up front.
        const string device = "browser-429";
        await page.EvaluateAsync("d => localStorage.setItem('presence:device', d)", device);
        using (var http = server.CreateHttpClient())
        using (var earlier = new HttpRequestMessage(HttpMethod.Post, "/v1/therapists/heartbeat"))
        {
            earlier.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            earlier.Headers.Add("X-Presence-Device", device);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(earlier, TestContext.Current.CancellationToken)).StatusCode);
        }

        await page.EvaluateAsync("t => presence.heartbeat.start(t, 'therapist')", token);
        await Poll.UntilAsync(() => Task.FromResult(Heartbeats("therapists").Any(r => r.Status == 200)), "accepted after the wait", timeout: TimeSpan.FromSeconds(20));

        var beats = Heartbeats("therapists");
        var refused = beats.First(r => r.Status == 429);
        var accepted = beats.First(r => r.Status == 200);
        Assert.Equal(beats.IndexOf(refused) + 1, beats.IndexOf(accepted));
        var retryAfter = TimeSpan.FromSeconds(int.Parse(refused.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        Assert.True(accepted.At - refused.At >= retryAfter - TimeSpan.FromMilliseconds(100),
            $"waited {(accepted.At - refused.At).TotalMilliseconds} ms, Retry-After {retryAfter.TotalSeconds} s");
    }

    [Fact(Timeout = 150_000)]
    public async Task Gateway_restart_reconnects_rewatches_applies_the_snapshot_and_receives_the_next_push()
    {
        var page = await OpenAsync(await Stack.Chromium.Browser.NewContextAsync(), TestContext.Current.CancellationToken, "{ firstRetryWindowMs: 500, retryBaseMs: 300, retryMaxMs: 2000 }");
        await page.EvaluateAsync("""
            async () => {
              window.pushes = []; window.states = []; window.snapshots = 0;
              presence.realtime.onPresenceChanged(c => window.pushes.push(c.id + ' ' + c.status));
              presence.realtime.onStateChanged(s => window.states.push(s));
              presence.realtime.onSnapshot(() => window.snapshots++);
              await presence.realtime.connect();
              await presence.realtime.watchTherapists();
            }
            """);
        var store = Stack.HeartbeatApi.Services.GetRequiredService<PresenceStore>();
        await store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-before", Core.HeartbeatTransport.Hub), TestContext.Current.CancellationToken);
        await WaitForPushAsync(page, "t-before online");

        await Stack.Gateway.DisposeAsync();
        await Poll.UntilAsync(async () => await page.EvaluateAsync<string>("() => presence.realtime.state()") != "connected", "the page noticed the gateway went away", timeout:
            TimeSpan.FromSeconds(15));
        await store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-during", Core.HeartbeatTransport.Hub), TestContext.Current.CancellationToken);
        Stack.StartNewGateway();

        await Poll.UntilAsync(async () => await page.EvaluateAsync<string>("() => presence.realtime.state()") == "connected", "reconnected", timeout:
            TimeSpan.FromSeconds(30));
        Assert.Equal(2, await page.EvaluateAsync<int>("() => window.snapshots"));
        Assert.Equal("online", await page.EvaluateAsync<string>("() => presence.realtime.statuses().get('therapist:t-during')?.status"));
        await store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-after", Core.HeartbeatTransport.Hub), TestContext.Current.CancellationToken);
        await WaitForPushAsync(page, "t-after online");
    }

    private async Task<IPage> OpenAsync(IBrowserContext context, CancellationToken ct, string options = "{}")
    {
        ct.ThrowIfCancellationRequested();
        var page = await context.NewPageAsync();
        // The client's floor follows the server's min interval of these tests (1 s).
        await page.GotoAsync(Stack.Ingress.Url + "/blank.html");
        await page.EvaluateAsync($"async () => {{ window.presence = await import('/js/presence.js'); presence.configure({{ minIntervalMs: 1000, ...{options} }}); }}");
        return page;
    }

    private List<ProxiedRequest> Heartbeats(string segment) => [.. Stack.Ingress.Requests("POST", $"/v1/{segment}/heartbeat")];

    private async Task<bool> OnlineAsync(string id, Core.PresenceRole role = Core.PresenceRole.Therapist) =>
        await Redis.Database.SortedSetScoreAsync(Keys.Online(role, id), id) is { } until && until > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static Task<bool> IsSenderAsync(IPage page) => page.EvaluateAsync<bool>("() => presence.heartbeat.isSender()");

    private static Task SetVisibilityAsync(IPage page, string state) => page.EvaluateAsync("""
        s => {
          Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
          Object.defineProperty(document, 'hidden', { value: s === 'hidden', configurable: true });
          document.dispatchEvent(new Event('visibilitychange'));
        }
        """, state);

    private static Task WaitForPushAsync(IPage page, string push) =>
        Poll.UntilAsync(() => page.EvaluateAsync<bool>("p => window.pushes.includes(p)", push), "push " + push, timeout: TimeSpan.FromSeconds(15));

    private static void AssertSpacedBy(IReadOnlyList<ProxiedRequest> requests, TimeSpan least)
    {
        for (var i = 1; i < requests.Count; i++)
        {
            Assert.True(requests[i].At - requests[i - 1].At >= least, $"heartbeats {i - 1} and {i} only {(requests[i].At - requests[i - 1].At).TotalMilliseconds} ms apart");
        }
    }
}
