using Microsoft.Playwright;

namespace Presence.Client.Tests;

/// <summary>
/// The leave grace seen from a real Chromium: a therapist signed in on the status board page reloads it. The old page
/// signs off on <c>pagehide</c>, the new one beats again inside the grace, and watchers see nothing at all
/// (docs/architecture.md, "Leave grace"). heartbeat-api, status-query and the gateway run on real Kestrel ports behind
/// <see cref="TestIngress"/>, on the real clock.
/// </summary>
public sealed class BoardReloadBrowserTests(RedisServer redis) : BrowserStackTests(redis, Grace)
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(4);

    [Fact(Timeout = 120_000)]
    public async Task Reloading_the_board_page_of_a_signed_in_therapist_gives_zero_transitions_on_the_stream()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = Stack.HeartbeatApi.Services.GetRequiredService<PresenceStore>();
        var events = Keys.Events(Core.PresenceRole.Therapist, "t-reload");
        var page = await Stack.Chromium.NewPageAsync();
        await SignInOnTheBoardAsync(page);
        await Poll.UntilAsync(async () => (await TransitionsAsync()).Length == 1, "t-reload online", timeout: TimeSpan.FromSeconds(15));
        Assert.Equal(["online/heartbeat"], await TransitionsAsync());

        await page.ReloadAsync();
        var reloadedAt = DateTimeOffset.UtcNow;
        await SignInOnTheBoardAsync(page);

        // The old page signed off (the leave grace began), and the new page's heartbeat ended it.
        await Poll.UntilAsync(() => Task.FromResult(Stack.Ingress.Requests("POST", "/v1/therapists/offline").Count == 1), "sign-off on pagehide", timeout: TimeSpan.FromSeconds(10));
        var signOff = Stack.Ingress.Requests("POST", "/v1/therapists/offline")[0];
        await Poll.UntilAsync(
            () => Task.FromResult(Stack.Ingress.Requests("POST", "/v1/therapists/heartbeat").Any(r => r.At > signOff.At && r.Status == 200)), "a heartbeat of the reloaded page", timeout:
            TimeSpan.FromSeconds(10));
        Assert.True(DateTimeOffset.UtcNow - reloadedAt < Grace, "the reload took longer than the grace: the test proves nothing");

        // Past the grace, the janitor's settle finds nothing to do: no leave, no transition.
        await Task.Delay(Grace, ct);
        Assert.False(await store.SettleAsync(DueIndex.Online, Core.PresenceRole.Therapist, "t-reload", ct));
        Assert.Empty(await store.DueAsync(DueIndex.Online, Core.PresenceRole.Therapist, Keys.ShardOf("t-reload"), 10, ct));
        Assert.Equal(["online/heartbeat"], await TransitionsAsync());
        Assert.Equal(1, await Redis.Database.StreamLengthAsync(events));

        async Task<string[]> TransitionsAsync() =>
            [.. (await Redis.Database.StreamRangeAsync(events)).Where(e => e["id"] == "t-reload").Select(e => e["status"] + "/" + e["reason"])];
    }

    private async Task SignInOnTheBoardAsync(IPage page)
    {
        if (page.Url != Stack.Ingress.Url + "/")
        {
            await page.GotoAsync(Stack.Ingress.Url + "/");
        }

        await page.EvaluateAsync("""
            async t => {
              window.presence = await import('/js/presence.js');
              presence.configure({ minIntervalMs: 1000 });
              presence.heartbeat.start(t, 'therapist');
            }
            """, DevTokens.Therapist("t-reload"));
    }
}
