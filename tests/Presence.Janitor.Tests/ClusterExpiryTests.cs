using System.Diagnostics;

namespace Presence.Janitor.Tests;

/// <summary>
/// The running janitor's expiry listener on a 3-primary cluster with a replica each: keyspace notifications are
/// node-local, so it must listen on every primary, and on a replica once it took over its primary's slots.
/// </summary>
public sealed class ClusterExpiryTests(ReplicatedRedisCluster cluster) : IClassFixture<ReplicatedRedisCluster>
{
    private const string Channel = "__keyevent@0__:expired";

    [Fact]
    public async Task Expired_user_hashes_are_handled_on_every_primary_and_on_a_replica_promoted_after_a_sigkill()
    {
        await using var app = new JanitorAppFactory(cluster);
        using var metrics = new MetricReader(app.Get<PresenceMetrics>().Meter);
        using var client = await app.StartLeadingAsync();
        await Poll.UntilAsync(async () => await SubscribersAsync(await cluster.PrimariesAsync()) == 3, "the janitor listens on the 3 primaries");
        Assert.Equal(3, metrics.Observe("presence.janitor.expiry.primaries"));
        Assert.Equal(0, await SubscribersAsync(cluster.Nodes.Skip(3)));
        var store = app.Get<PresenceStore>();

        // Each role's keys live on another primary.
        foreach (var (role, id) in new[] { (PresenceRole.Therapist, "t-1"), (PresenceRole.Community, "c-1") })
        {
            await ExpireAndSeeItHandledAsync(app, store, role, id);
        }

        var therapistPrimary = await cluster.PrimaryForKeyAsync(app.Keys.LastSeen(PresenceRole.Therapist, "t-2"));
        var replica = await cluster.ReplicaOfAsync(therapistPrimary);
        await cluster.KillAsync(therapistPrimary);
        var promoted = await cluster.WaitForPromotionAsync(therapistPrimary);
        Assert.Equal(replica, promoted);

        await Poll.UntilAsync(() => Task.FromResult(app.Logs.Any(l => l.Message.StartsWith("Redis primaries changed", StringComparison.Ordinal))), "the janitor sees the new primary");
        await Poll.UntilAsync(async () => await SubscribersAsync([promoted]) == 1, "the janitor listens on the promoted replica");
        Assert.Equal(3, await SubscribersAsync(await cluster.PrimariesAsync()));
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-2", HeartbeatTransport.Hub), Ct);
                return true;
            }
            catch (RedisUnavailableException)
            {
                return false;
            }
        }, "heartbeats reach the promoted replica");
        await ExpireAndSeeItHandledAsync(app, store, PresenceRole.Therapist, "t-2");
        Assert.Equal(3, metrics.Observe("presence.janitor.expiry.primaries"));
    }

    private static async Task<long> SubscribersAsync(IEnumerable<RedisClusterNode> nodes)
    {
        long total = 0;
        foreach (var node in nodes)
        {
            total += (long)((object?[])(await RedisCluster.CommandAsync(node, "PUBSUB", "NUMSUB", Channel))!)[1]!;
        }

        return total;
    }

    private static async Task ExpireAndSeeItHandledAsync(JanitorAppFactory app, PresenceStore store, PresenceRole role, string id)
    {
        await store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub), Ct);
        Assert.NotNull(await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(role, id), id));

        // As if the retention passed: the node expires the hash on its own clock and publishes 'expired' locally.
        await app.Db.KeyExpireAsync(app.Keys.User(role, id), TimeSpan.FromMilliseconds(1));

        await Poll.UntilAsync(async () => await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(role, id), id) is null, $"the expiry of {role} {id} is handled");
    }
}

/// <summary>Keyspace events are a per-node setting: the janitor checks, and where allowed sets, each primary's.</summary>
public sealed class ClusterKeyspaceSettingTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    [Fact]
    public async Task The_janitor_sets_expired_events_on_every_primary_when_allowed()
    {
        foreach (var node in cluster.Nodes)
        {
            await RedisCluster.CommandAsync(node, "CONFIG", "SET", "notify-keyspace-events", "");
        }

        await using var app = new JanitorAppFactory(cluster);
        app.Settings["Janitor:ConfigureKeyspaceEvents"] = "true";
        using var client = app.CreateClient();

        var deadline = Stopwatch.StartNew();
        foreach (var node in cluster.Nodes)
        {
            while (((object?[])(await RedisCluster.CommandAsync(node, "CONFIG", "GET", "notify-keyspace-events"))!)[1] is not "xE")
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"node {node} has no expired events");
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
        }
    }
}
