using System.Diagnostics;
using System.Net;
using Presence.Testing;

namespace Presence.HeartbeatApi.Tests;

/// <summary>Stops its own Redis (a class fixture), so the assembly's shared server is never touched.</summary>
public sealed class RedisOutageTests(RedisServer ownRedis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly HeartbeatApiFactory _app = new(ownRedis);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await ownRedis.StartAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Redis_down_gives_fast_503_with_retry_after_stays_ready_degraded_then_recovers_by_itself()
    {
        using var client = _app.CreateClient(DevTokens.Therapist("t-1"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode);

        await ownRedis.StopAsync();

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

        await ownRedis.StartAsync();

        await Eventually.TrueAsync(async () => await (await client.GetAsync("/health/ready", Ct)).Content.ReadAsStringAsync(Ct) == "Healthy",
            TimeSpan.FromSeconds(20), "healthy after Redis came back");
        await Eventually.TrueAsync(async () =>
            {
                _app.Time.Advance(TimeSpan.FromSeconds(11));
                return (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode == HttpStatusCode.OK;
            },
            TimeSpan.FromSeconds(20), "heartbeats accepted after the circuit closed");
    }
}
