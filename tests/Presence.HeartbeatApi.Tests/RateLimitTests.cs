namespace Presence.HeartbeatApi.Tests;

public sealed class RateLimitTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(CreateApp(redis))
{
    [Fact]
    public async Task Writes_beyond_the_per_user_burst_are_429_with_retry_after_and_other_users_are_unaffected()
    {
        using var noisy = App.CreateClient(DevTokens.Therapist("t-noisy"));
        for (var i = 0; i < 3; i++)
        {
            var ok = await noisy.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var limited = await noisy.PutAsync("/v1/therapists/availability", Http.Json("""{"available":false}"""), Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
        await limited.ProblemAsync();
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-noisy"), "t-noisy"));

        using var quiet = App.CreateClient(DevTokens.Therapist("t-quiet"));
        Assert.Equal(HttpStatusCode.OK, (await quiet.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct)).StatusCode);
    }

    private static HeartbeatApiFactory CreateApp(RedisServer redis)
    {
        var app = new HeartbeatApiFactory(redis);
        app.Settings["RateLimiting:Writes:Burst"] = "3";
        app.Settings["RateLimiting:Writes:PerMinute"] = "1";
        return app;
    }
}
