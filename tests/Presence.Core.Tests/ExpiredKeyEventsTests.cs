namespace Presence.Core.Tests;

/// <summary>Core's expired-key subscription, the janitor's only way to hear of an expired user hash.</summary>
public sealed class ExpiredKeyEventsTests(RedisServer redis)
{
    [Fact]
    public async Task A_subscription_delivers_the_key_that_expired()
    {
        var events = new ExpiredKeyEvents(redis.Client);
        Assert.Single(events.Primaries());
        Assert.False(events.IsCluster);
        var subscription = await events.SubscribeAsync();
        Assert.Contains("expired", subscription.Channel, StringComparison.Ordinal);

        var key = RedisServer.NewKeyPrefix() + ":expiring";
        await redis.Database.StringSetAsync(key, "1", TimeSpan.FromMilliseconds(20));

        // The server is shared with other test classes, whose keys expire too: read until this one arrives.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (await subscription.ReadExpiredKeyAsync(timeout.Token) != key)
        {
        }

        await subscription.UnsubscribeAsync();
    }
}
