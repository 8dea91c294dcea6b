using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Presence.Janitor.Sweeping;

namespace Presence.Janitor.Tests;

/// <summary>
/// Redis dies and comes back. The server here persists what it had (SAVE before the kill), as a production
/// server with persistence would, so what was due meanwhile is still there to catch up on.
/// </summary>
public sealed class JanitorFaultTests(PrivateRedis own) : IClassFixture<PrivateRedis>
{
    [Fact]
    public async Task A_sweep_cut_off_by_a_Redis_restart_catches_up_afterwards_emitting_each_transition_once()
    {
        var redis = own.Server;
        await using var j = new JanitorHarness(redis, janitor: o =>
        {
            o.BatchSize = 50;
            o.MaxBatchesPerTick = 2;
        });
        // All in one shard of each role: the per-tick bound is per shard (docs/architecture.md, "Sweeps").
        var ids = Enumerable.Range(0, 100_000).Select(i => "u-" + i).Where(id => j.Keys.ShardOf(id) == 0).Take(400)
            .Select((id, i) => (Role: i % 2 == 0 ? PresenceRole.Therapist : PresenceRole.Community, Id: id)).ToArray();
        await Task.WhenAll(ids.Select(u => j.BeatAsync(u.Role, u.Id, HeartbeatTransport.Hub)));
        j.Fake.Advance(j.Options.OnlineWindow + TimeSpan.FromSeconds(1));

        var before = await j.Sweeper.SweepOnceAsync(Ct);
        Assert.False(before.CaughtUp);
        Assert.Equal(200, before.Transitions);

        await redis.Database.ExecuteAsync("SAVE");
        await redis.StopAsync();
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<RedisUnavailableException>(() => j.Sweeper.SweepOnceAsync(Ct));
        }

        await redis.StartAsync();
        var after = new List<SweepReport>();
        var deadline = Stopwatch.StartNew();
        while (after.Count == 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "the sweep did not resume");
            try
            {
                after.Add(await j.Sweeper.SweepOnceAsync(Ct));
            }
            catch (RedisUnavailableException)
            {
                // Reconnecting, or the circuit is still open for its break.
                await Task.Delay(50, Ct);
            }
        }

        // Right after the outage the online sweep waits, so clients can land a beat first (docs/reliability.md, "Stalls").
        Assert.True(j.Sweeper.HoldingOnline);
        Assert.Equal(0, after[0].OnlineRemoved);
        j.Fake.Advance(j.Options.HeartbeatInterval + j.Options.InstanceLease);
        do
        {
            after.Add(await j.Sweeper.SweepOnceAsync(Ct));
        }
        while (after[^1] is not { CaughtUp: true });

        Assert.Equal(200, after.Sum(r => r.Transitions));
        Assert.Equal(0, await j.Db.SortedSetLengthSumAsync(j.Keys.InAllShards(s => j.Keys.Online(PresenceRole.Therapist, s))));
        Assert.Equal(0, await j.Db.SortedSetLengthSumAsync(j.Keys.InAllShards(s => j.Keys.Online(PresenceRole.Community, s))));
        var recents = (await j.EventsAsync(PresenceRole.Therapist)).Concat(await j.EventsAsync(PresenceRole.Community))
            .Where(e => e["status"] == "recent").GroupBy(e => e["id"].ToString()).ToList();
        Assert.Equal(ids.Length, recents.Count);
        Assert.All(recents, g => Assert.Single(g));
    }

    [Fact]
    public async Task The_host_stays_up_and_unready_while_Redis_is_down_then_resumes_and_catches_up()
    {
        var redis = own.Server;
        await using var app = new JanitorAppFactory(redis);
        using var client = await app.StartLeadingAsync();
        var store = app.Get<PresenceStore>();
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-1", HeartbeatTransport.Hub), Ct);
        await redis.Database.ExecuteAsync("SAVE");
        await redis.StopAsync();

        // Degraded, still ready (HTTP 200): liveness and readiness never turn a Redis outage into restarts or drained nodes.
        await Poll.UntilAsync(async () => await ReadyAsync(client) == (HttpStatusCode.OK, "Degraded"));
        // The users lapse during the outage while the workers fail, back off and keep going.
        for (var i = 0; i < 30; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(20, Ct);
        }

        using (var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        Assert.Contains(app.Logs, l => l.Level == LogLevel.Warning && l.Category.StartsWith("Presence.Janitor", StringComparison.Ordinal));

        await redis.StartAsync();
        await Poll.UntilAsync(async () => await ReadyAsync(client) == (HttpStatusCode.OK, "Healthy"));
        await app.AdvanceUntilAsync(async () => (await app.StatusesAsync(PresenceRole.Therapist, "t-1")).Contains("recent")
            && (await app.StatusesAsync(PresenceRole.Community, "c-1")).Contains("recent"));
        Assert.Equal(["online", "recent"], await app.StatusesAsync(PresenceRole.Therapist, "t-1"));
        Assert.Equal(["online", "recent"], await app.StatusesAsync(PresenceRole.Community, "c-1"));

        // The expiry subscription came back with the connection. It is re-established asynchronously after the
        // reconnect, so an expiry that fired before it was in place is re-armed (once a second) until one is seen.
        var userKey = app.Keys.User(PresenceRole.Community, "c-1");
        var polls = 0;
        await Poll.UntilAsync(async () =>
        {
            if (await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(PresenceRole.Community, "c-1"), "c-1") is null)
            {
                return true;
            }

            if (polls++ % 50 == 0)
            {
                await app.Db.HashSetAsync(userKey, "lastActive", "0");
                await app.Db.KeyExpireAsync(userKey, TimeSpan.FromMilliseconds(1));
            }

            return false;
        });
    }

    private static async Task<(HttpStatusCode, string)> ReadyAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative), TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
