using System.Diagnostics;
using System.Net.Http.Headers;

namespace Presence.StatusQuery.Tests;

/// <summary>On a Redis of its own, which these tests stop and start again.</summary>
public sealed class OutageTests(PrivateRedis redis) : IClassFixture<PrivateRedis>, IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await redis.Server.StartAsync();

    public async ValueTask DisposeAsync() => await redis.Server.StartAsync();

    [Fact(Timeout = 120_000)]
    public async Task During_an_outage_the_last_good_board_is_served_stale_with_its_age_and_lookups_fail_fast_then_all_recovers()
    {
        await using var app = new StatusQueryApp(redis.Server);
        await app.BeatAsync("t-1");
        using var client = app.CreateClient(DevTokens.Therapist("t-9"));
        using var good = await client.GetAsync(StatusQueryApp.BoardUrl, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var etag = good.Headers.ETag!;

        await redis.Server.StopAsync();
        await app.AdvanceAsync(TimeSpan.FromSeconds(3));

        var started = Stopwatch.GetTimestamp();
        using var stale = await client.GetAsync(StatusQueryApp.BoardUrl, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("true", stale.Headers.GetValues("X-Presence-Stale").Single());
        Assert.Equal(TimeSpan.FromSeconds(3), stale.Headers.Age);
        Assert.Equal(etag, stale.Headers.ETag);
        Assert.Equal(["t-1"], Ids(await stale.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)));

        using var conditional = new HttpRequestMessage(HttpMethod.Get, StatusQueryApp.BoardUrl);
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await client.SendAsync(conditional, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("true", notModified.Headers.GetValues("X-Presence-Stale").Single());

        foreach (var lookup in new Func<Task<HttpResponseMessage>>[]
        {
            () => client.GetAsync("/v1/presence/therapist/t-1", TestContext.Current.CancellationToken),
            () => client.PostAsJsonAsync("/v1/presence/query", new { role = "therapist", ids = new[] { "t-1" } }, TestContext.Current.CancellationToken),
            () => client.GetAsync("/v1/presence/stats", TestContext.Current.CancellationToken),
        })
        {
            using var unavailable = await lookup();
            await unavailable.ProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.True(unavailable.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        }

        // Still ready, degraded: taking the instance out of the Service would hide the stale board.
        using var ready = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        // Never a hang: every answer above came without waiting on the dead server.
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));

        await redis.Server.StartAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            // Past the circuit breaker's break duration on the fake clock; the client reconnects on the real one.
            await app.AdvanceAsync(TimeSpan.FromSeconds(6));
            try
            {
                // A REST heartbeat: not retried, so no backoff delay waits on the fake clock.
                await app.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-2", HeartbeatTransport.Rest), TestContext.Current.CancellationToken);
                break;
            }
            catch (RedisUnavailableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }

        JsonElement recovered;
        while (true)
        {
            await app.AdvanceAsync(TimeSpan.FromSeconds(6));
            using var response = await client.GetAsync(StatusQueryApp.BoardUrl, TestContext.Current.CancellationToken);
            if (response.StatusCode == HttpStatusCode.OK && !response.Headers.Contains("X-Presence-Stale"))
            {
                recovered = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The board did not recover within 30 s of Redis coming back.");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Equal(["t-2"], Ids(recovered));
        using var lookupAgain = await client.GetAsync("/v1/presence/therapist/t-2", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, lookupAgain.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_a_last_good_board_an_outage_is_a_fast_503_with_retry_after()
    {
        await using var app = new StatusQueryApp(redis.Server);
        using var client = app.CreateClient(token: null);
        await redis.Server.StopAsync();

        using var response = await client.GetAsync(StatusQueryApp.BoardUrl, TestContext.Current.CancellationToken);

        await response.ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        // Still ready, degraded: the fast 503 problem is this pod's right answer (docs/operations.md, "Readiness").
        using var ready = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private static string[] Ids(JsonElement board) =>
        [.. board.GetProperty("therapists").EnumerateArray().Select(t => t.GetProperty("id").GetString()!)];
}
