using System.Diagnostics;
using Presence.Testing;

namespace Presence.Janitor.Tests;

/// <summary>
/// The lease lives in Redis, whose PX expiry runs on real time: these tests use the system clock and short
/// leases, and poll with deadlines.
/// </summary>
public sealed class LeaderLeaseTests(RedisServer redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_replica_leads_and_the_follower_takes_over_within_one_lease_period_when_the_leader_dies()
    {
        var prefix = RedisServer.NewKeyPrefix();
        var lease = TimeSpan.FromSeconds(1);
        await using var a = new JanitorHarness(redis, prefix, o => o.LeaseDuration = lease, time: TimeProvider.System);
        await using var b = new JanitorHarness(redis, prefix, o => o.LeaseDuration = lease, time: TimeProvider.System);
        using var stopA = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var stopB = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var runA = RunQuietlyAsync(a, stopA.Token);
        var runB = RunQuietlyAsync(b, stopB.Token);

        await PollAsync(() => a.Lease.IsLeader || b.Lease.IsLeader, TimeSpan.FromSeconds(5));
        var (leader, follower, stopLeader) = a.Lease.IsLeader ? (a, b, stopA) : (b, a, stopB);
        // Let it renew a few times first, so the takeover is measured against a lease that was being kept alive.
        await Task.Delay(lease * 1.5, Ct);
        Assert.True(leader.Lease.IsLeader);
        Assert.False(follower.Lease.IsLeader);
        Assert.True(leader.Lease.Renewals >= 2, $"renewals: {leader.Lease.Renewals}");

        // The leader dies: its loop stops without releasing the lease.
        await stopLeader.CancelAsync();
        var died = Stopwatch.StartNew();
        await PollAsync(() => follower.Lease.IsLeader, TimeSpan.FromSeconds(5));
        var takeover = died.Elapsed;

        Assert.True(takeover <= lease + TimeSpan.FromMilliseconds(300), $"takeover took {takeover.TotalMilliseconds:F0} ms");
        Assert.False(leader.Lease.IsLeader);
        Assert.Equal(follower.Lease.Token, await redis.Database.StringGetAsync(follower.Keys.JanitorLease));
        await stopA.CancelAsync();
        await stopB.CancelAsync();
        await Task.WhenAll(runA, runB);
    }

    [Fact]
    public async Task Never_two_leaders_at_once_over_many_renewals_deaths_and_restarts()
    {
        var prefix = RedisServer.NewKeyPrefix();
        var lease = TimeSpan.FromMilliseconds(600);
        var replicas = new JanitorHarness[3];
        for (var i = 0; i < replicas.Length; i++)
        {
            replicas[i] = new JanitorHarness(redis, prefix, o => o.LeaseDuration = lease, time: TimeProvider.System);
        }

        var stops = replicas.Select(_ => CancellationTokenSource.CreateLinkedTokenSource(Ct)).ToArray();
        var runs = replicas.Select((r, i) => RunQuietlyAsync(r, stops[i].Token)).ToArray();
        var overlaps = 0;
        var samples = 0;
        var led = 0;
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var sampler = Task.Run(() =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var read = Stopwatch.StartNew();
                var leaders = replicas.Count(r => r.Lease.IsLeader);
                // A sample is only trusted when its reads were close together: a lease is trusted for 90% of its
                // life, so a reader stalled longer than the other 10% could see an old and a new leader at once.
                if (read.Elapsed < lease * 0.05)
                {
                    samples++;
                    overlaps += leaders > 1 ? 1 : 0;
                    led += leaders == 1 ? 1 : 0;
                }

                Thread.Sleep(1);
            }
        }, Ct);

        var renewals = 0;
        for (var round = 0; round < 3; round++)
        {
            await PollAsync(() => replicas.Any(r => r.Lease.IsLeader), TimeSpan.FromSeconds(5));
            await Task.Delay(lease * 2, Ct);
            var leader = Array.FindIndex(replicas, r => r.Lease.IsLeader);
            if (leader < 0)
            {
                continue;
            }

            renewals += replicas[leader].Lease.Renewals;
            // Kill the leader without releasing, then bring it back as a new follower.
            await stops[leader].CancelAsync();
            await runs[leader];
            stops[leader].Dispose();
            stops[leader] = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            runs[leader] = RunQuietlyAsync(replicas[leader], stops[leader].Token);
        }

        await sampling.CancelAsync();
        await sampler;
        foreach (var stop in stops)
        {
            await stop.CancelAsync();
        }

        await Task.WhenAll(runs);
        foreach (var (replica, stop) in replicas.Zip(stops))
        {
            stop.Dispose();
            await replica.DisposeAsync();
        }

        Assert.True(samples > 100, $"samples: {samples}");
        Assert.Equal(0, overlaps);
        Assert.True(led > samples / 2, $"a leader in {led} of {samples} samples");
        Assert.True(renewals >= 6, $"renewals: {renewals}");
    }

    [Fact]
    public async Task A_released_lease_is_taken_at_the_next_attempt_and_a_stale_holder_never_deletes_its_successors_lease()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var a = new JanitorHarness(redis, prefix);
        await using var b = new JanitorHarness(redis, prefix);

        await a.Lease.TryAcquireOrRenewAsync(Ct);
        var wait = await b.Lease.TryAcquireOrRenewAsync(Ct);
        Assert.True(a.Lease.IsLeader);
        Assert.False(b.Lease.IsLeader);
        Assert.True(wait <= b.JanitorOptions.RenewInterval);

        await a.Lease.ReleaseAsync(Ct);
        Assert.False(a.Lease.IsLeader);
        await b.Lease.TryAcquireOrRenewAsync(Ct);
        Assert.True(b.Lease.IsLeader);

        // b stalls past its lease (here: the key lapses under it) while a takes over; b still believes it leads
        // on its own clock until its next renewal.
        await a.Lease.TryAcquireOrRenewAsync(Ct);
        Assert.False(a.Lease.IsLeader);
        await redis.Database.KeyDeleteAsync(a.Keys.JanitorLease);
        await a.Lease.TryAcquireOrRenewAsync(Ct);
        Assert.True(a.Lease.IsLeader);
        Assert.True(b.Lease.IsLeader);

        await b.Lease.ReleaseAsync(Ct);
        Assert.Equal(a.Lease.Token, await redis.Database.StringGetAsync(a.Keys.JanitorLease));

        await b.Lease.TryAcquireOrRenewAsync(Ct);
        Assert.False(b.Lease.IsLeader);
        Assert.Equal(a.Lease.Token, await redis.Database.StringGetAsync(a.Keys.JanitorLease));
    }

    private static async Task RunQuietlyAsync(JanitorHarness replica, CancellationToken ct)
    {
        try
        {
            await replica.Lease.RunAsync(ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task PollAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < timeout, "condition not met in time");
            await Task.Delay(5, Ct);
        }
    }
}
