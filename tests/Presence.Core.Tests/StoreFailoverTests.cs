using System.Collections.Concurrent;
using System.Diagnostics;
using Presence.Testing;

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
        var succeeded = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        async Task BeatAsync(Role role, string id)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await core.Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub), ct);
                    await core.Reader.GetAsync(role, id, ct);
                    Interlocked.Increment(ref succeeded);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures.Add(ex);
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }

        var beaters = Enumerable.Range(0, 4).SelectMany(i => new[] { BeatAsync(Role.Therapist, $"t-{i}"), BeatAsync(Role.Community, $"c-{i}") }).ToList();
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref succeeded) > 20), TimeSpan.FromSeconds(10), "heartbeats succeed before the failover");

        var primary = await cluster.PrimaryForKeyAsync(core.Keys.LastSeen(Role.Therapist));
        await cluster.KillAsync(primary);
        await cluster.WaitForPromotionAsync(primary);
        var after = Volatile.Read(ref succeeded);
        // Recovered: therapists (whose primary died) beat again on the promoted replica.
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await core.Store.HeartbeatAsync(new Heartbeat(Role.Therapist, "t-0", HeartbeatTransport.Hub), ct);
                return true;
            }
            catch (RedisUnavailableException)
            {
                return false;
            }
        }, cluster.NodeTimeout + TimeSpan.FromSeconds(5), "therapist heartbeats succeed after the promotion");
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref succeeded) > after + 20), TimeSpan.FromSeconds(10), "heartbeats go on");
        await stop.CancelAsync();
        await Task.WhenAll(beaters);

        Assert.All(failures, f => Assert.IsType<RedisUnavailableException>(f));
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
