namespace Presence.RealtimeGateway.Tests;

/// <summary>
/// The gateway's core case on a single node and on a 3-primary cluster: two instances share the consumer group over
/// every shard's event stream (docs/architecture.md, "Event streams"), and users of many shards are each pushed once.
/// </summary>
public abstract class GatewayBackendTests(IRedisBackend redis)
{
    [Fact]
    public async Task Users_of_every_shard_are_pushed_once_through_the_shared_consumer_group()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var a = new GatewayFactory(redis, prefix);
        await using var b = new GatewayFactory(redis, prefix);
        var keys = a.PresenceKeys;
        // One therapist in each of 8 different shards.
        var ids = Enumerable.Range(0, 1000).Select(i => "t-s" + i).GroupBy(keys.ShardOf).Take(8).Select(g => g.First()).ToArray();
        Assert.Equal(8, ids.Select(keys.ShardOf).Distinct().Count());
        await using var pushes = await a.WatchAsync(ids);

        var users = new List<HubConnection>();
        try
        {
            foreach (var id in ids)
            {
                var user = await b.ConnectAsync(DevTokens.Therapist(id));
                users.Add(user);
                await user.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
            }

            foreach (var id in ids)
            {
                await pushes.WaitForAsync(id, "online");
            }

            await Poll.UntilAsync(async () => await redis.Database.PendingSumAsync(keys, PresenceRole.Therapist, "gateways") == 0,
                () => "events stayed pending in the consumer group");
            Assert.All(ids, id => Assert.Equal(1, pushes.Count(id)));
        }
        finally
        {
            foreach (var user in users)
            {
                await user.DisposeAsync();
            }
        }
    }
}

public sealed class GatewayOnSingleNodeTests(RedisServer redis) : GatewayBackendTests(redis);

public sealed class GatewayOnClusterTests(RedisCluster cluster) : GatewayBackendTests(cluster), IClassFixture<RedisCluster>;
