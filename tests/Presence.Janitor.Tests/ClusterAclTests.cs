namespace Presence.Janitor.Tests;

/// <summary>
/// The janitor host and the store on a cluster as docs/deployment.md ("Redis Cluster") tells operators to run
/// it: a restricted ACL user with a password on every node, given by <c>user=…,password=…</c>.
/// </summary>
public sealed class ClusterAclTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    // The rules docs/deployment.md gives, for the key prefix "presence" (tests use their own prefixes: "t*").
    private const string Rules = "~t* ~__Booksleeve_TieBreak &__keyevent@* &__Booksleeve_MasterChanged +@read +@write +@scripting +@pubsub +@stream +@keyspace +@connection +info +cluster|nodes +cluster|slots +config|get";

    [Fact]
    public async Task A_restricted_acl_user_runs_the_store_the_sweep_and_the_expiry_listener()
    {
        foreach (var node in cluster.Nodes)
        {
            await RedisCluster.CommandAsync(node, ["ACL", "SETUSER", "presence", "reset", "on", ">s3cret", .. Rules.Split(' ')]);
            await RedisCluster.CommandAsync(node, "ACL", "LOG", "RESET");
        }

        var backend = new AclBackend(cluster, cluster.ConnectionString + ",user=presence,password=s3cret");
        await using var app = new JanitorAppFactory(backend);
        using var client = await app.StartLeadingAsync();
        await Poll.UntilAsync(() => Task.FromResult(app.Logs.Any(l => l.Message.StartsWith("Listening to expired-key events", StringComparison.Ordinal))), "the janitor listens");
        await Poll.UntilAsync(async () =>
        {
            foreach (var node in cluster.Nodes)
            {
                if ((long)((object?[])(await RedisCluster.CommandAsync(node, "PUBSUB", "NUMSUB", "__keyevent@0__:expired"))!)[1]! == 0)
                {
                    return false;
                }
            }

            return true;
        }, "the janitor listens on every primary");
        var store = app.Get<PresenceStore>();
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Hub, true), TestContext.Current.CancellationToken);
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-1", HeartbeatTransport.Hub), TestContext.Current.CancellationToken);
        await app.Db.KeyExpireAsync(app.Keys.User(PresenceRole.Community, "c-1"), TimeSpan.FromMilliseconds(1));
        await Poll.UntilAsync(async () => await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(PresenceRole.Community, "c-1"), "c-1") is null, "the expiry is handled");
        var board = await app.Get<PresenceReader>().GetBoardAsync(PresenceRole.Therapist, TestContext.Current.CancellationToken);

        Assert.Equal("t-1", Assert.Single(board.Entries).Id);
        foreach (var node in cluster.Nodes)
        {
            var log = (object?[])(await RedisCluster.CommandAsync(node, "ACL", "LOG"))!;
            Assert.True(log.Length == 0, $"node {node} denied: " + string.Join("; ", log.Select(Describe)));
        }
    }

    private static string Describe(object? entry)
    {
        var fields = (object?[])entry!;
        return string.Join(' ', fields.Select(f => f is object?[] ? "[..]" : f?.ToString()));
    }

    private sealed class AclBackend(RedisCluster cluster, string connectionString) : IRedisBackend
    {
        public string ConnectionString => connectionString;

        public IConnectionMultiplexer Client => cluster.Client;

        public IDatabase Database => cluster.Database;
    }
}
