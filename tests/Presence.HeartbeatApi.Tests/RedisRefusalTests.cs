namespace Presence.HeartbeatApi.Tests;

/// <summary>
/// A Redis that answers but refuses writes (OOM, MISCONF, READONLY) gets the same fast 503 problem with Retry-After
/// as an outage, never a 500; once it accepts writes again, so does the API. Each test breaks its own server.
/// </summary>
public sealed class RedisRefusalTests(PrivateRedis own) : HostTests<HeartbeatApiFactory>(new(own.Server)), IClassFixture<PrivateRedis>
{
    [Theory]
    [MemberData(nameof(RedisFaults.Refusals), MemberType = typeof(RedisFaults))]
    public async Task A_refusing_redis_gives_503_with_retry_after_then_the_api_recovers(string fault)
    {
        using var client = await ReadyAsync();
        await using var primary = new RedisServer();
        await own.Server.BreakAsync(fault, primary);
        try
        {
            await AssertRefusedAsync(client, fault);
        }
        finally
        {
            await own.Server.RepairAsync(fault);
        }

        await AssertRecoveredAsync(client);
    }

    /// <summary>A running service: started, connected, scripts loaded, one heartbeat accepted before the fault.</summary>
    private async Task<HttpClient> ReadyAsync()
    {
        var client = App.CreateClient(DevTokens.Therapist("t-refused"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode);
        return client;
    }

    private async Task AssertRefusedAsync(HttpClient client, string errorClass)
    {
        // READONLY is transient: after a few it opens the circuit, whose answer is the same 503.
        for (var i = 0; i < 6; i++)
        {
            App.Time.Advance(TimeSpan.FromSeconds(11));
            var response = i % 2 == 0
                ? await client.PostAsync("/v1/therapists/heartbeat", null, Ct)
                : await client.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct);

            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"answer {i}: {(int)response.StatusCode}");
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After of at least 1 s");
            var problem = await response.ProblemAsync();
            var detail = problem.GetProperty("detail").GetString()!;
            Assert.True(detail.Contains(errorClass, StringComparison.Ordinal) || detail.Contains("breaker-open", StringComparison.Ordinal), detail);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live", Ct)).StatusCode);
    }

    private async Task AssertRecoveredAsync(HttpClient client) =>
        await Poll.UntilAsync(async () =>
            {
                App.Time.Advance(TimeSpan.FromSeconds(11));
                return (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode == HttpStatusCode.OK;
            }, "heartbeats accepted once Redis takes writes again", timeout:
            TimeSpan.FromSeconds(20));
}
