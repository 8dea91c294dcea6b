using System.Diagnostics.Metrics;
using System.Security.Claims;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Presence.ServiceDefaults;
using Presence.ServiceDefaults.Authentication;

namespace Presence.HeartbeatApi.Tests;

/// <summary>The validated-token cache: a token is parsed and checked once, and never accepted past its lifetime.</summary>
public sealed class TokenCacheTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    [Fact]
    public async Task A_token_is_validated_once_then_served_from_the_cache_as_its_own_user()
    {
        using var lookups = App.Services.Collect<long>("presence.auth.token_cache.lookups");
        using var first = App.CreateClient(DevTokens.Community("cache-1"));
        using var second = App.CreateClient(DevTokens.Community("cache-2"));

        Assert.Equal(HttpStatusCode.OK, (await first.PostAsync("/v1/community/heartbeat", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.PostAsync("/v1/community/heartbeat", null, Ct)).StatusCode);
        // The same tokens again: hits, each still its own user (the second beat of each is throttled, not the other's).
        Assert.Equal(HttpStatusCode.TooManyRequests, (await first.PostAsync("/v1/community/heartbeat", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await second.PostAsync("/v1/community/heartbeat", null, Ct)).StatusCode);

        var byResult = lookups.GetMeasurementSnapshot().GroupBy(m => (string?)m.Tags["result"]).ToDictionary(g => g.Key!, g => g.Sum(m => m.Value));
        Assert.Equal(2, byResult["miss"]);
        Assert.Equal(2, byResult["hit"]);
        Assert.True(await App.Db.KeyExistsAsync(App.Keys.User(PresenceRole.Community, "cache-1")));
        Assert.True(await App.Db.KeyExistsAsync(App.Keys.User(PresenceRole.Community, "cache-2")));
    }

    [Fact]
    public async Task A_cached_token_with_a_wrong_signature_twin_is_still_refused()
    {
        var token = DevTokens.Community("cache-3");
        using var good = App.CreateClient(token);
        Assert.Equal(HttpStatusCode.OK, (await good.PostAsync("/v1/community/heartbeat", null, Ct)).StatusCode);

        // Same header and payload, another signature: not the cached string, so fully validated and refused.
        var forged = token[..(token.LastIndexOf('.') + 1)] + new string('A', 43);
        using var bad = App.CreateClient(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bad.PostAsync("/v1/community/heartbeat", null, Ct)).StatusCode);
    }

    [Fact]
    public void An_entry_ends_at_the_token_expiry_and_never_later()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var meters = new TestMeterFactory();
        var cache = new ValidatedTokenCache(new TokenCacheOptions { Capacity = 10, MaxAge = TimeSpan.FromMinutes(5) }, time, meters);
        var identity = new ClaimsIdentity([new Claim(PresenceClaims.Subject, "u-1"), new Claim(PresenceClaims.Role, "community")], "jwt", PresenceClaims.Subject, PresenceClaims.Role);

        cache.Add("token-a", identity, time.GetUtcNow(), time.GetUtcNow().AddMinutes(2));
        Assert.True(cache.TryGet("token-a", out var hit));
        Assert.Equal("u-1", new ClaimsPrincipal(hit.Identity).SubjectOf());
        Assert.NotSame(identity, hit.Identity);

        time.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromTicks(1));
        Assert.True(cache.TryGet("token-a", out _));
        time.Advance(TimeSpan.FromTicks(1));
        Assert.False(cache.TryGet("token-a", out _));
        Assert.Equal(0, cache.Count);

        // A long-lived token is validated again after MaxAge; an expired one is never added.
        cache.Add("token-b", identity, time.GetUtcNow(), time.GetUtcNow().AddHours(1));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(cache.TryGet("token-b", out _));
        cache.Add("token-c", identity, null, time.GetUtcNow());
        Assert.False(cache.TryGet("token-c", out _));
    }

    [Fact]
    public void A_full_cache_admits_no_more_until_entries_expire()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var meters = new TestMeterFactory();
        var cache = new ValidatedTokenCache(new TokenCacheOptions { Capacity = 2, MaxAge = TimeSpan.FromMinutes(5) }, time, meters);
        var identity = new ClaimsIdentity([new Claim(PresenceClaims.Subject, "u-1")], "jwt");

        cache.Add("t1", identity, null, time.GetUtcNow().AddMinutes(1));
        cache.Add("t2", identity, null, time.GetUtcNow().AddMinutes(10));
        cache.Add("t3", identity, null, time.GetUtcNow().AddMinutes(10));
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet("t3", out _));

        time.Advance(TimeSpan.FromMinutes(2));
        cache.Add("t3", identity, null, time.GetUtcNow().AddMinutes(10));
        Assert.True(cache.TryGet("t3", out _));
        Assert.True(cache.TryGet("t2", out _));
        Assert.Equal(2, cache.Count);
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
