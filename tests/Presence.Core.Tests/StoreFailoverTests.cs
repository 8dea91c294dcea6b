using System.Collections.Concurrent;
using System.Diagnostics;

namespace Presence.Core.Tests;

/// <summary>
/// The store while a primary dies (SIGKILL) and its replica takes over: every call succeeds or fails as
/// <see cref="RedisUnavailableException"/> (the hosts' 503 with Retry-After), never another error (a 500).
/// </summary>
public sealed class StoreFailoverTests(ReplicatedRedisCluster cluster) : IClassFixture<ReplicatedRedisCluster>
{
    [Fact]
    public async Task Heartbeats_while_a_primary_fails_over_succeed_or_are_unavailable_and_then_succeed_again()
    {
        await using var core = new CoreServices(cluster);
        var ct = TestContext.Current.CancellationToken;
        var failures = new ConcurrentBag<Exception>();
        var slow = new ConcurrentBag<TimeSpan>();
        var succeeded = 0;
        // Users over many shards, so the killed primary holds some of each role's users and the others hold the rest.
        var users = Enumerable.Range(0, 12).SelectMany(i => new[] { (Role: PresenceRole.Therapist, Id: $"t-{i}"), (Role: PresenceRole.Community, Id: $"c-{i}") }).ToArray();
        var lastSuccess = new ConcurrentDictionary<string, long>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        async Task BeatAsync(PresenceRole role, string id)
        {
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await core.Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub), ct);
                    await core.Reader.GetAsync(role, id, ct);
                    lastSuccess[id] = Stopwatch.GetTimestamp();
                    Interlocked.Increment(ref succeeded);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures.Add(ex);
                }

                if (Stopwatch.GetElapsedTime(started) is var took && took > TimeSpan.FromSeconds(2))
                {
                    slow.Add(took);
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }

        var beaters = users.Select(u => BeatAsync(u.Role, u.Id)).ToList();
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref succeeded) > 50), "heartbeats succeed before the failover", timeout: TimeSpan.FromSeconds(10));

        var primary = await cluster.PrimaryForKeyAsync(core.Keys.LastSeen(PresenceRole.Therapist, "t-0"));
        var onKilled = (await Task.WhenAll(users.Select(async u => (u, node: await cluster.PrimaryForKeyAsync(core.Keys.User(u.Role, u.Id))))))
            .Where(p => p.node.Port == primary.Port).Select(p => p.u).ToArray();
        Assert.NotEmpty(onKilled);
        Assert.NotEqual(users.Length, onKilled.Length);
        await cluster.KillAsync(primary);
        await cluster.WaitForPromotionAsync(primary);
        var after = Volatile.Read(ref succeeded);
        // Recovered: the users whose primary died beat again on the promoted replica.
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-0", HeartbeatTransport.Hub), ct);
                return true;
            }
            catch (RedisUnavailableException)
            {
                return false;
            }
        }, "heartbeats succeed after the promotion", timeout: cluster.NodeTimeout + TimeSpan.FromSeconds(5));
        var recovered = Stopwatch.GetTimestamp();

        // Every user still beating is online again within one heartbeat interval of the recovery.
        await Poll.UntilAsync(
            () => Task.FromResult(users.All(u => lastSuccess.TryGetValue(u.Id, out var at) && at > recovered)), "every beating user's heartbeat succeeds again", timeout:
            core.Options.HeartbeatInterval);
        foreach (var role in Roles.All)
        {
            var ids = users.Where(u => u.Role == role).Select(u => u.Id).ToArray();
            Assert.All(await core.Reader.GetManyAsync(role, ids, ct), e => Assert.Equal(PresenceStatus.Online, e.Status));
        }

        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref succeeded) > after + 50), "heartbeats go on", timeout: TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await Task.WhenAll(beaters);

        Assert.All(failures, f => Assert.IsType<RedisUnavailableException>(f));
        Assert.Empty(slow);

        // No transition emitted twice, over every shard stream of both roles: (id, ver) is unique, and a user's
        // statuses never repeat back to back.
        foreach (var role in Roles.All)
        {
            var events = (await cluster.Database.AllEventsAsync(core.Keys, role))
                .Select(e => PresenceEvent.TryParse(e, role, out var parsed) ? parsed : throw new InvalidOperationException("malformed " + e.Id)).ToArray();
            Assert.Equal(events.Length, events.Select(e => (e.Id, e.Ver)).Distinct().Count());
            foreach (var user in events.GroupBy(e => e.Id))
            {
                var statuses = user.Select(e => e.Status).ToArray();
                Assert.All(statuses.Zip(statuses.Skip(1)), p => Assert.NotEqual(p.First, p.Second));
            }
        }
    }
}

public sealed class ClusterFailoverErrorTests
{
    [Theory]
    [InlineData("CLUSTERDOWN The cluster is down", true)]
    [InlineData("CLUSTERDOWN Hash slot not served", true)]
    [InlineData("MOVED 3999 127.0.0.1:6381", true)]
    [InlineData("ASK 3999 127.0.0.1:6381", true)]
    [InlineData("READONLY You can't write against a read only replica.", true)]
    [InlineData("CROSSSLOT Keys in request don't hash to the same slot", false)]
    [InlineData("ERR Error running script", false)]
    public void Cluster_failover_replies_are_transient_and_programming_errors_are_not(string reply, bool transient)
    {
        Assert.Equal(transient, RedisResilience.IsTransient(new StackExchange.Redis.RedisServerException(reply)));
    }
}
