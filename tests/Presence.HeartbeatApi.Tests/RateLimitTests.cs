using System.Threading.RateLimiting;
using Presence.ServiceDefaults;

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

    [Fact]
    public async Task A_write_bucket_refills_when_asked_and_is_idle_only_once_full_again()
    {
        // One token per hour: drained, it refuses with a Retry-After and is not idle, so the partitioned limiter
        // cannot drop it and hand the writer a full bucket.
        using var slow = Bucket(TimeSpan.FromHours(1));
        Assert.True(slow.AttemptAcquire().IsAcquired);
        using var refused = slow.AttemptAcquire();
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero);
        Assert.Null(slow.IdleDuration);

        // One token per 20 ms, and no timer replenishes it: asked again once full, it has its token back.
        using var fast = Bucket(TimeSpan.FromMilliseconds(20));
        Assert.True(fast.AttemptAcquire().IsAcquired);
        await Poll.UntilAsync(() => fast.IdleDuration is not null, "the bucket counted idle once full again");
        Assert.True(fast.AttemptAcquire().IsAcquired);
    }

    private static LazyTokenBucketLimiter Bucket(TimeSpan period) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = 1,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = period,
        QueueLimit = 0,
        AutoReplenishment = false,
    });

    private static HeartbeatApiFactory CreateApp(RedisServer redis)
    {
        var app = new HeartbeatApiFactory(redis);
        app.Settings["RateLimiting:Writes:Burst"] = "3";
        app.Settings["RateLimiting:Writes:PerMinute"] = "1";
        return app;
    }
}
