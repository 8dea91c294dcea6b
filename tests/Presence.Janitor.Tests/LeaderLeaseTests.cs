using Microsoft.Extensions.Time.Testing;

namespace Presence.Janitor.Tests;

/// <summary>
/// The lease lives in Redis, whose PX expiry runs on real time, which a loaded machine stretches at will. So no test
/// here measures the real clock: the replicas share one fake clock and make their attempts one at a time, as their
/// loops would; where the lease must lapse in Redis, the test waits for Redis to say so (polled), or lets it lapse
/// itself at the moment the fake clock says it would.
/// </summary>
public sealed class LeaderLeaseTests(RedisServer redis)
{
    [Fact]
    public async Task One_replica_leads_and_the_follower_takes_over_within_one_lease_period_when_the_leader_dies()
    {
        var prefix = RedisServer.NewKeyPrefix();
        // Long enough that no stall of this process outlasts it in Redis; the test then waits for it once, polled.
        var lease = TimeSpan.FromSeconds(5);
        var clock = new FakeTimeProvider(JanitorHarness.Start);
        await using var a = new JanitorHarness(redis, prefix, o => o.LeaseDuration = lease, time: clock);
        await using var b = new JanitorHarness(redis, prefix, o => o.LeaseDuration = lease, time: clock);
        var renew = a.JanitorOptions.RenewInterval;

        Assert.Equal(renew, await a.Lease.TryAcquireOrRenewAsync(Ct));
        Assert.True(await b.Lease.TryAcquireOrRenewAsync(Ct) <= renew);
        // The leader renews at its pace, so the takeover is measured against a lease that was being kept alive.
        for (var i = 0; i < 2; i++)
        {
            clock.Advance(renew);
            Assert.Equal(renew, await a.Lease.TryAcquireOrRenewAsync(Ct));
        }

        Assert.True(a.Lease.IsLeader);
        Assert.False(b.Lease.IsLeader);
        Assert.Equal(2, a.Lease.Renewals);

        // The leader dies: no more attempts and no release. Its lease has at most one lease period left in Redis, and
        // the follower is never told to sleep past the moment it runs out.
        var left = Assert.NotNull(await redis.Database.KeyTimeToLiveAsync(a.Keys.JanitorLease));
        Assert.True(left > TimeSpan.Zero && left <= lease, $"PTTL {left}");
        var wait = await b.Lease.TryAcquireOrRenewAsync(Ct);
        Assert.False(b.Lease.IsLeader);
        Assert.True(wait <= left + TimeSpan.FromMilliseconds(1) && wait <= renew, $"the follower waits {wait}, the lease has {left} left");

        // On its own clock, the dead leader stops believing it leads before Redis lets the lease lapse.
        clock.Advance(lease * 0.9);
        Assert.False(a.Lease.IsLeader);
        await Poll.UntilAsync(async () => !await redis.Database.KeyExistsAsync(a.Keys.JanitorLease), "the dead leader's lease lapses in Redis");

        // The follower's next attempt, due by then, takes the lease.
        Assert.Equal(renew, await b.Lease.TryAcquireOrRenewAsync(Ct));
        Assert.True(b.Lease.IsLeader);
        Assert.False(a.Lease.IsLeader);
        Assert.Equal(b.Lease.Token, await redis.Database.StringGetAsync(b.Keys.JanitorLease));
    }

    [Fact]
    public async Task Never_two_leaders_at_once_over_many_renewals_deaths_and_restarts()
    {
        // The lease is long enough never to lapse in Redis during the test; the test deletes it when the fake clock
        // passes one lease after the holder's last successful attempt (the earliest Redis could let it lapse), so
        // the replicas' clock and Redis' agree whatever the load.
        var prefix = RedisServer.NewKeyPrefix();
        var lease = TimeSpan.FromMinutes(10);
        var step = lease / 30;
        var clock = new FakeTimeProvider(JanitorHarness.Start);
        var replicas = new JanitorHarness[3];
        for (var i = 0; i < replicas.Length; i++)
        {
            replicas[i] = new JanitorHarness(redis, prefix, o => o.LeaseDuration = lease, time: clock);
        }

        var key = replicas[0].Keys.JanitorLease;
        var renew = replicas[0].JanitorOptions.RenewInterval;
        var nextAttempt = replicas.Select(_ => clock.GetUtcNow()).ToArray();
        var alive = replicas.Select(_ => true).ToArray();
        DateTimeOffset? lapsesAt = null;
        var (steps, led, renewals, takeovers, dead) = (0, 0, 0, 0, -1);
        var diedAt = DateTimeOffset.MinValue;
        var tookOver = false;
        try
        {
            for (; steps < 2000 && takeovers < 3; steps++, clock.Advance(step))
            {
                var now = clock.GetUtcNow();
                if (lapsesAt <= now)
                {
                    await redis.Database.KeyDeleteAsync(key);
                    lapsesAt = null;
                }

                for (var i = 0; i < replicas.Length; i++)
                {
                    if (!alive[i] || nextAttempt[i] > now)
                    {
                        continue;
                    }

                    nextAttempt[i] = now + await replicas[i].Lease.TryAcquireOrRenewAsync(Ct);
                    if (replicas[i].Lease.IsLeader)
                    {
                        lapsesAt = now + lease;
                    }

                    Assert.True(replicas.Count(r => r.Lease.IsLeader) <= 1, $"two leaders at +{now - JanitorHarness.Start}");
                }

                var leader = Array.FindIndex(replicas, r => r.Lease.IsLeader);
                led += leader >= 0 ? 1 : 0;
                if (dead < 0 && leader >= 0 && replicas[leader].Lease.Renewals >= 2)
                {
                    // Kill the leader without releasing: its attempts stop.
                    renewals += replicas[leader].Lease.Renewals;
                    (dead, diedAt, tookOver, alive[leader]) = (leader, now, false, false);
                }
                else if (dead >= 0 && leader >= 0 && leader != dead && !tookOver)
                {
                    Assert.True(now - diedAt <= lease + renew + step, $"took over {now - diedAt} after the leader died");
                    (tookOver, takeovers) = (true, takeovers + 1);
                }

                if (dead >= 0 && now - diedAt >= lease * 2)
                {
                    // Back as a new follower.
                    (alive[dead], nextAttempt[dead], dead) = (true, now, -1);
                }
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }

        Assert.Equal(3, takeovers);
        Assert.True(led > steps / 2, $"a leader in {led} of {steps} steps");
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
}
