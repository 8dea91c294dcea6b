using System.Diagnostics;

namespace Presence.HeartbeatApi.Tests;

/// <summary>Stops its own Redis (a class fixture), so the assembly's shared server is never touched; each test starts it again.</summary>
public sealed class RedisOutageTests(PrivateRedis own) : HostTests<HeartbeatApiFactory>(new(own.Server)), IClassFixture<PrivateRedis>
{
    protected override ValueTask DisposeCoreAsync() => new(own.Server.StartAsync());

    [Fact]
    public async Task Redis_down_gives_fast_503_with_retry_after_stays_ready_degraded_then_recovers_by_itself()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode);

        await own.Server.StopAsync();

        for (var i = 0; i < 8; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var response = i % 2 == 0
                ? await client.PostAsync("/v1/therapists/heartbeat", null, Ct)
                : await client.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            Assert.True(elapsed < TimeSpan.FromSeconds(1), $"answer {i} took {elapsed.TotalMilliseconds:F0} ms");
            await response.ProblemAsync();
        }

        // Still ready (docs/operations.md, "Readiness"): the fast 503 above is the right answer, not the ingress's own.
        using (var ready = await client.GetAsync("/health/ready", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync(Ct));
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live", Ct)).StatusCode);

        await own.Server.StartAsync();

        await Poll.UntilAsync(async () => await (await client.GetAsync("/health/ready", Ct)).Content.ReadAsStringAsync(Ct) == "Healthy", "healthy after Redis came back", timeout:
            TimeSpan.FromSeconds(20));
        await Poll.UntilAsync(async () =>
            {
                App.Time.Advance(TimeSpan.FromSeconds(11));
                return (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode == HttpStatusCode.OK;
            }, "heartbeats accepted after the circuit closed", timeout:
            TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Redis_down_gives_503_with_retry_after_for_watchlist_reads_and_writes()
    {
        using var client = App.CreateClient(DevTokens.Community("c-1"));
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-1"]}"""), Ct)).StatusCode);

        await own.Server.StopAsync();

        foreach (var put in new[] { false, true, false, true })
        {
            var response = put
                ? await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-2"]}"""), Ct)
                : await client.GetAsync("/v1/community/watchlist", Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            await response.ProblemAsync();
        }
    }
}
