using StackExchange.Redis;

namespace Presence.Core.Tests;

/// <summary>Core's expired-key subscription, the janitor's only way to hear of an expired user hash.</summary>
public sealed class ExpiredKeyEventsTests(RedisServer redis)
{
    [Fact]
    public async Task A_subscription_delivers_the_key_that_expired()
    {
        await using var h = new StoreHarness(redis);
        var events = new ExpiredKeyEvents(h.Get<IConnectionMultiplexer>());
        Assert.Single(events.Primaries());
        Assert.False(events.IsCluster);

        var subscription = await events.SubscribeAsync();
        Assert.Contains("expired", subscription.Channel, StringComparison.Ordinal);
        var key = "expired-key-events-" + Guid.NewGuid().ToString("N");
        await h.Db.StringSetAsync(key, "1", TimeSpan.FromMilliseconds(20));

        // The server is shared with other tests' keys: read until this one arrives.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (await subscription.ReadExpiredKeyAsync(timeout.Token) != key)
        {
        }

        await subscription.UnsubscribeAsync();
    }
}
