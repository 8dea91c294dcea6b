namespace Presence.Core.Tests;

/// <summary>The cluster fixture itself: slots, routing and the nodes' own view, on 3 primaries.</summary>
public sealed class RedisClusterTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    [Fact]
    public async Task Three_primaries_serve_all_slots_and_the_client_reaches_each_of_them()
    {
        var primaries = await cluster.PrimariesAsync();

        Assert.Equal(3, primaries.Count);
        Assert.Equal(3, cluster.Nodes.Count);
        Assert.Equal(3, cluster.ConnectionString.Split(',').Count(p => p.StartsWith("127.0.0.1:", StringComparison.Ordinal)));
        foreach (var primary in primaries)
        {
            var key = (RedisKey)$"fixture:{{{await cluster.HashTagOnAsync(primary)}}}:k";
            await cluster.Database.StringSetAsync(key, primary.Port);
            Assert.Equal(primary, await cluster.PrimaryForKeyAsync(key));
            // Stored on that node itself: its own keyspace holds the key.
            Assert.Equal(1L, await RedisCluster.CommandAsync(primary, "EXISTS", key.ToString()));
        }
    }

    [Theory]
    [InlineData("presence:{therapist}:lastseen")]
    [InlineData("presence:{community}:user:c-1")]
    [InlineData("no-tag")]
    [InlineData("{}empty-tag")]
    public async Task The_hash_slot_matches_the_server_and_the_client(string key)
    {
        var server = (long)(await RedisCluster.CommandAsync(cluster.Nodes[0], "CLUSTER", "KEYSLOT", key))!;

        Assert.Equal(server, RedisCluster.HashSlot(key));
        Assert.Equal(cluster.Client.HashSlot(key), RedisCluster.HashSlot(key));
    }

    [Fact]
    public async Task Every_node_knows_every_other_and_has_keyspace_expiry_events_on()
    {
        foreach (var node in cluster.Nodes)
        {
            var view = await RedisCluster.ClusterNodesAsync(node);
            Assert.Equal(cluster.Nodes.Select(n => n.NodeId).Order(), view.Select(n => n.Id).Order());
            var config = (RedisResult[])(await cluster.Client.GetServer(node.EndPoint).ExecuteAsync("CONFIG", "GET", "notify-keyspace-events"))!;
            Assert.Contains("E", (string?)config[1], StringComparison.Ordinal);
            Assert.Contains("x", (string?)config[1], StringComparison.Ordinal);
            Assert.True(node.IsRunning);
            Assert.NotNull(node.ProcessId);
        }
    }
}

/// <summary>Failover on 3 primaries with a replica each: SIGKILL, SIGSTOP/SIGCONT, promotion.</summary>
public sealed class RedisClusterFailoverTests(ReplicatedRedisCluster cluster) : IClassFixture<ReplicatedRedisCluster>
{
    private static long ReplicationOffset(object? info) =>
        long.Parse(
            Convert.ToString(info, System.Globalization.CultureInfo.InvariantCulture)!.Split('\n')
                .Select(l => l.Trim())
                .First(l => l.StartsWith("master_repl_offset:", StringComparison.Ordinal))["master_repl_offset:".Length..],
            System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_killed_primary_is_replaced_by_its_replica_which_has_the_data()
    {
        Assert.Equal(6, cluster.Nodes.Count);
        var key = (RedisKey)"failover:{therapist}:k";
        await cluster.Database.StringSetAsync(key, "v");
        var primary = await cluster.PrimaryForKeyAsync(key);
        var replica = await cluster.ReplicaOfAsync(primary);
        Assert.NotNull(replica);
        // The write reached the replica before the primary dies: the replica's replication offset caught up with the
        // primary's offset after the write (WAIT would not do: it counts only its own connection's writes).
        var written = ReplicationOffset(await RedisCluster.CommandAsync(primary, "INFO", "replication"));
        await Poll.UntilAsync(
            async () => ReplicationOffset(await RedisCluster.CommandAsync(replica!, "INFO", "replication")) >= written, "the replica caught up with the write", timeout:
            TimeSpan.FromSeconds(10));

        await cluster.KillAsync(primary);
        Assert.False(primary.IsRunning);
        var promoted = await cluster.WaitForPromotionAsync(primary);

        Assert.Equal(replica, promoted);
        Assert.Equal(promoted, await cluster.PrimaryForKeyAsync(key));
        Assert.Equal(3, (await cluster.PrimariesAsync()).Count);
        Assert.Equal("v", await cluster.Database.StringGetAsync(key));
    }

    [Fact]
    public async Task A_paused_replica_stops_answering_and_answers_again_when_resumed()
    {
        var primary = await cluster.PrimaryForKeyAsync("pause:{community}:k");
        var replica = (await cluster.ReplicaOfAsync(primary))!;

        await cluster.PauseAsync(replica);
        Assert.True(replica.IsPaused);
        await Assert.ThrowsAnyAsync<Exception>(() => RedisCluster.CommandAsync(replica, "PING"));
        await cluster.ResumeAsync(replica);

        Assert.False(replica.IsPaused);
        Assert.Equal("PONG", await RedisCluster.CommandAsync(replica, "PING"));
        await cluster.WaitForHealthyAsync();
    }
}
