using Presence.Janitor.Sweeping;

namespace Presence.Janitor.Tests;

public sealed class SweepTests(RedisServer redis) : HostTests<JanitorHarness>(new(redis))
{
    [Fact]
    public async Task A_user_whose_online_window_passes_becomes_recent_with_exactly_one_recent_event()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1");
        await App.BeatAsync(PresenceRole.Community, "c-1");
        var onlineUntil = App.NowMs + (long)App.Options.OnlineWindow.TotalMilliseconds;

        App.Fake.Advance(App.Options.OnlineWindow - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, (await App.Sweeper.SweepOnceAsync(Ct)).OnlineRemoved);

        App.Fake.Advance(TimeSpan.FromMilliseconds(1));
        var report = await App.Sweeper.SweepOnceAsync(Ct);
        var again = await App.Sweeper.SweepOnceAsync(Ct);

        Assert.Equal(2, report.OnlineRemoved);
        Assert.Equal(2, report.Transitions);
        Assert.Equal(0, again.Transitions);
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.Equal(["online", "recent"], await App.StatusesAsync(PresenceRole.Therapist, "t-1"));
        Assert.Equal(["online", "recent"], await App.StatusesAsync(PresenceRole.Community, "c-1"));
        var recent = (await App.EventsAsync(PresenceRole.Therapist)).Last();
        Assert.Equal("therapist", recent["role"]);
        Assert.Equal(onlineUntil, (long)recent["at"]);
        Assert.Equal("timeout", recent["reason"]);
    }

    [Fact]
    public async Task Two_janitors_sweeping_at_once_emit_each_recent_transition_exactly_once()
    {
        var prefix = RedisServer.NewKeyPrefix();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(JanitorHarness.Start);
        await using var a = new JanitorHarness(redis, prefix, o => o.BatchSize = 25, time: clock);
        await using var b = new JanitorHarness(redis, prefix, o => o.BatchSize = 25, time: clock);
        const int users = 300;
        await Task.WhenAll(Enumerable.Range(0, users).Select(i => a.BeatAsync(i % 2 == 0 ? PresenceRole.Therapist : PresenceRole.Community, "u-" + i)));
        clock.Advance(a.Options.OnlineWindow + TimeSpan.FromSeconds(1));

        var sweeps = await Task.WhenAll(a.SweepUntilCaughtUpAsync(), b.SweepUntilCaughtUpAsync());

        Assert.Equal(users, sweeps.SelectMany(s => s).Sum(r => r.Transitions));
        var recents = (await a.EventsAsync(PresenceRole.Therapist)).Concat(await a.EventsAsync(PresenceRole.Community))
            .Where(e => e["status"] == "recent").GroupBy(e => e["id"].ToString()).ToList();
        Assert.Equal(users, recents.Count);
        Assert.All(recents, g => Assert.Single(g));
        Assert.Equal(0, await a.Db.SortedSetLengthSumAsync(a.Keys.InAllShards(s => a.Keys.Online(PresenceRole.Therapist, s))));
    }

    [Fact]
    public async Task A_heartbeat_that_lands_before_the_sweep_keeps_the_user_online_without_a_recent_event()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1", HeartbeatTransport.Hub);
        App.Fake.Advance(App.Options.OnlineWindow + TimeSpan.FromSeconds(1));

        await App.BeatAsync(PresenceRole.Therapist, "t-1", HeartbeatTransport.Hub);
        var report = await App.Sweeper.SweepOnceAsync(Ct);

        Assert.Equal(0, report.Transitions);
        Assert.True(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1") > App.NowMs);
        Assert.DoesNotContain("recent", await App.StatusesAsync(PresenceRole.Therapist, "t-1"));
    }

    [Fact]
    public async Task Heartbeats_racing_the_sweep_are_never_removed_and_no_transition_is_lost_or_doubled()
    {
        await using var j = new JanitorHarness(redis, janitor: o => o.BatchSize = 10);
        const int users = 200;
        var ids = Enumerable.Range(0, users).Select(i => "u-" + i).ToArray();
        await Task.WhenAll(ids.Select(id => j.BeatAsync(PresenceRole.Community, id, HeartbeatTransport.Hub)));
        j.Fake.Advance(j.Options.OnlineWindow + TimeSpan.FromSeconds(1));
        var beating = ids.Where((_, i) => i % 2 == 0).ToHashSet();

        // The sweep works in small batches while the heartbeats of half the users arrive between and during them.
        var sweep = j.SweepUntilCaughtUpAsync();
        var beats = Task.WhenAll(beating.Select(async id =>
        {
            await Task.Yield();
            await j.BeatAsync(PresenceRole.Community, id, HeartbeatTransport.Hub);
        }));
        await Task.WhenAll(sweep, beats);
        await j.SweepUntilCaughtUpAsync();

        var events = await j.EventsAsync(PresenceRole.Community);
        foreach (var id in ids)
        {
            var statuses = events.Where(e => e["id"] == id).Select(e => e["status"].ToString()).ToArray();
            var score = await j.Db.SortedSetScoreAsync(j.Keys.Online(PresenceRole.Community, id), id);
            Assert.True(statuses.Count(s => s == "recent") <= 1, id);
            if (beating.Contains(id))
            {
                // Either the heartbeat came first (the user never left: no event, and the sweep no longer sees the
                // user) or the sweep did ('recent', then 'online' again). Never removed after a beat, never online twice.
                Assert.True(score > j.NowMs, id);
                Assert.True(statuses is ["online"] or ["online", "recent", "online"], id + ": " + string.Join(",", statuses));
            }
            else
            {
                Assert.Null(score);
                Assert.Equal(["online", "recent"], statuses);
            }
        }
    }

    [Fact]
    public async Task Last_seen_past_the_retention_is_trimmed_in_bounded_batches_over_ticks()
    {
        await using var j = new JanitorHarness(redis, janitor: o =>
        {
            o.BatchSize = 10;
            o.MaxBatchesPerTick = 3;
        });
        // All in one shard: the bound is per shard (docs/architecture.md, "Sweeps").
        await Task.WhenAll(Enumerable.Range(0, 100_000).Select(i => "old-" + i).Where(id => j.Keys.ShardOf(id) == 2).Take(100).Select(id => j.BeatAsync(PresenceRole.Therapist, id)));
        j.Fake.Advance(j.Options.Retention + TimeSpan.FromSeconds(1));
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => j.BeatAsync(PresenceRole.Therapist, "fresh-" + i)));

        var first = await j.Sweeper.SweepOnceAsync(Ct);

        Assert.Equal(30, first.LastSeenTrimmed);
        Assert.False(first.CaughtUp);
        Assert.Equal(75, await j.Db.SortedSetLengthSumAsync(j.Keys.InAllShards(s => j.Keys.LastSeen(PresenceRole.Therapist, s))));

        var rest = await j.SweepUntilCaughtUpAsync();

        Assert.Equal(70, rest.Sum(r => r.LastSeenTrimmed));
        Assert.All(rest, r => Assert.True(r.LastSeenTrimmed <= 30));
        var left = (await Task.WhenAll(j.Keys.AllShards.Select(s => j.Db.SortedSetRangeByRankAsync(j.Keys.LastSeen(PresenceRole.Therapist, s))))).SelectMany(v => v).Select(v => v.ToString()).Order();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => "fresh-" + i), left);
    }

    [Fact]
    public async Task A_hub_session_without_heartbeats_times_out_after_the_stale_window_and_its_user_leaves_once()
    {
        await App.Connections.RenewInstanceAsync("gw-a", Ct);
        await App.HubBeatAsync(PresenceRole.Therapist, "t-1", "gw-a", "conn-1");
        await App.HubBeatAsync(PresenceRole.Therapist, "t-2", "gw-a", "conn-2");
        App.Fake.Advance(App.Options.StaleConnection - TimeSpan.FromSeconds(10));
        await App.HubBeatAsync(PresenceRole.Therapist, "t-2", "gw-a", "conn-2");
        App.Fake.Advance(TimeSpan.FromSeconds(10));
        await App.Connections.RenewInstanceAsync("gw-a", Ct);

        var report = await App.Sweeper.SweepOnceAsync(Ct);

        Assert.Equal(1, report.OnlineRemoved);
        Assert.Equal(1, report.Transitions);
        Assert.Equal(0, report.InstancesRemoved);
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.Equal(0, await App.Db.SortedSetLengthAsync(App.Keys.Sessions(PresenceRole.Therapist, "t-1")));
        Assert.Equal(["online/heartbeat", "recent/timeout"], await App.TransitionsAsync(PresenceRole.Therapist, "t-1"));
        Assert.Equal(["online/heartbeat"], await App.TransitionsAsync(PresenceRole.Therapist, "t-2"));
        Assert.Equal(0, (await App.Sweeper.SweepOnceAsync(Ct)).Transitions);
    }

    [Fact]
    public async Task A_lapsed_gateway_instance_ends_its_sessions_only_with_lost_instance()
    {
        await App.GatewayHoldsAsync("gw-dead", (PresenceRole.Therapist, "t-1"), (PresenceRole.Community, "c-1"));
        await App.GatewayHoldsAsync("gw-live", (PresenceRole.Community, "c-1"));
        // A janitor that starts sweeping gives gateways one lease to renew first; from then on it ticks every few seconds.
        Assert.Equal(0, (await App.Sweeper.SweepOnceAsync(Ct)).InstancesRemoved);
        Assert.True(App.Sweeper.HoldingInstances);
        var reports = new List<SweepReport>();
        for (var t = 0; t < 5; t++)
        {
            App.Fake.Advance(TimeSpan.FromSeconds(4));
            await App.Connections.RenewInstanceAsync("gw-live", Ct);
            reports.Add(await App.Sweeper.SweepOnceAsync(Ct));
        }

        // gw-dead lapsed at 20 s (lease 15 s + the renewal pace 5 s), after the hold (15 s): removed by the last tick.
        Assert.Equal([0, 0, 0, 0, 1], reports.Select(r => r.InstancesRemoved));
        Assert.Equal(1, reports.Sum(r => r.Transitions));
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Community, "c-1"), "c-1"));
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.GatewayInstances, "gw-dead"));
        Assert.Equal(["online/heartbeat", "recent/lost-instance"], await App.TransitionsAsync(PresenceRole.Therapist, "t-1"));
        Assert.Equal(["online/heartbeat"], await App.TransitionsAsync(PresenceRole.Community, "c-1"));
        Assert.Equal(0, (await App.Sweeper.SweepOnceAsync(Ct)).InstancesRemoved);
    }

    [Fact]
    public async Task The_last_device_signing_off_leaves_with_one_recent_signoff_when_the_grace_ends()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1");
        await App.Store.SignOffAsync(PresenceRole.Therapist, "t-1", ct: Ct);
        App.Fake.Advance(App.Options.LeaveGrace - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, (await App.Sweeper.SweepOnceAsync(Ct)).Transitions);

        App.Fake.Advance(TimeSpan.FromMilliseconds(1));
        var report = await App.Sweeper.SweepOnceAsync(Ct);

        Assert.Equal(1, report.Transitions);
        Assert.Equal(["online/heartbeat", "recent/signoff"], await App.TransitionsAsync(PresenceRole.Therapist, "t-1"));
    }

    [Fact]
    public async Task The_recent_window_end_is_swept_by_score_as_offline_window_ended_once()
    {
        await using var j = new JanitorHarness(redis, janitor: o => o.BatchSize = 10);
        var ids = Enumerable.Range(0, 25).Select(i => "c-" + i).ToArray();
        await Task.WhenAll(ids.Select(id => j.BeatAsync(PresenceRole.Community, id)));
        j.Fake.Advance(j.Options.OnlineWindow);
        await j.SweepUntilCaughtUpAsync();
        j.Fake.Advance(j.Options.RecentWindow - j.Options.OnlineWindow - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, (await j.SweepUntilCaughtUpAsync()).Sum(r => r.RecentEnded));

        j.Fake.Advance(TimeSpan.FromMilliseconds(1));
        var reports = await j.SweepUntilCaughtUpAsync();

        Assert.Equal(25, reports.Sum(r => r.RecentEnded));
        Assert.All(reports, r => Assert.True(r.RecentEnded <= 10 * j.JanitorOptions.MaxBatchesPerTick));
        foreach (var id in ids)
        {
            Assert.Equal(["online/heartbeat", "recent/timeout", "offline/window-ended"], await j.TransitionsAsync(PresenceRole.Community, id));
        }

        Assert.Equal(0, (await j.Sweeper.SweepOnceAsync(Ct)).Transitions);
    }

    [Fact]
    public async Task Availability_expires_by_ttl_and_by_until_through_the_sweep()
    {
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-ttl", true, ct: Ct);
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-until", true, App.Time.GetUtcNow().AddHours(1), Ct);

        App.Fake.Advance(TimeSpan.FromHours(1));
        var first = await App.Sweeper.SweepOnceAsync(Ct);
        App.Fake.Advance(App.Options.AvailabilityTtl - TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(1));
        var between = await App.Sweeper.SweepOnceAsync(Ct);
        App.Fake.Advance(TimeSpan.FromMilliseconds(1));
        var last = await App.Sweeper.SweepOnceAsync(Ct);

        Assert.Equal((1, 0, 1), (first.AvailabilityLapsed, between.AvailabilityLapsed, last.AvailabilityLapsed));
        Assert.Equal(["offline/set", "offline/expired"], await App.TransitionsAsync(PresenceRole.Therapist, "t-until"));
        Assert.Equal(["offline/set", "offline/expired"], await App.TransitionsAsync(PresenceRole.Therapist, "t-ttl"));
        Assert.Equal(0, await App.Db.SortedSetLengthSumAsync(App.Keys.InAllShards(s => App.Keys.Available(PresenceRole.Therapist, s))));
    }

    [Fact]
    public async Task The_sweep_caps_each_event_stream_approximately()
    {
        await using var j = new JanitorHarness(redis, presence: o => o.EventStreamMaxLength = 100);
        var events = j.Keys.Events(PresenceRole.Community, "x");
        // Written without a cap, as by an older writer or before the cap was lowered.
        for (var i = 0; i < 3000; i++)
        {
            await j.Db.StreamAddAsync(events, new PresenceEvent(PresenceRole.Community, "x", i + 1, DateTimeOffset.FromUnixTimeMilliseconds(i), "online", false,
                null, null, PresenceReason.Heartbeat).Format());
        }

        await j.Sweeper.SweepOnceAsync(Ct);

        var length = await j.Db.StreamLengthAsync(events);
        Assert.InRange(length, 100, 300);
    }

    [Fact]
    public async Task After_a_stall_gateways_get_one_lease_to_renew_and_only_a_dead_one_is_removed()
    {
        await App.GatewayHoldsAsync("gw-live", (PresenceRole.Therapist, "t-live"));
        await App.GatewayHoldsAsync("gw-dead", (PresenceRole.Therapist, "t-dead"));
        await SweepEveryFourSecondsAsync(App, 5, renew: ["gw-live", "gw-dead"]);
        Assert.False(App.Sweeper.HoldingInstances);

        // Redis (or this janitor) stalls 25 s: nobody renews, nobody sweeps. Both leases look lapsed when it is back.
        App.Fake.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(["gw-dead", "gw-live"], (await App.Connections.LapsedInstancesAsync(10, Ct)).Order());
        var resumed = await App.Sweeper.SweepOnceAsync(Ct);
        Assert.Equal(0, resumed.InstancesRemoved);
        Assert.True(App.Sweeper.HoldingInstances);

        // The live gateway renews within its pace; the dead one never does.
        var after = await SweepEveryFourSecondsAsync(App, 5, renew: ["gw-live"]);

        Assert.Equal(1, after.Sum(r => r.InstancesRemoved));
        Assert.Equal(["online/heartbeat"], await App.TransitionsAsync(PresenceRole.Therapist, "t-live"));
        Assert.Equal(["online/heartbeat", "recent/lost-instance"], await App.TransitionsAsync(PresenceRole.Therapist, "t-dead"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.GatewayInstances, "gw-live"));
    }

    [Fact]
    public async Task A_dead_gateway_with_many_sessions_is_removed_over_ticks_without_delaying_other_users()
    {
        await using var j = new JanitorHarness(redis, janitor: o => o.MaxLostSessionsPerTick = 100, presence: o =>
        {
            o.OnlineWindow = TimeSpan.FromSeconds(24);
            o.HeartbeatInterval = TimeSpan.FromSeconds(12);
            o.MinHeartbeatInterval = TimeSpan.FromSeconds(5);
        });
        await j.Connections.RenewInstanceAsync("gw-big", Ct);
        for (var i = 0; i < 250; i++)
        {
            await j.HubBeatAsync(PresenceRole.Community, "c-" + i, "gw-big", "k" + i);
        }

        await SweepEveryFourSecondsAsync(j, 2, renew: ["gw-big"]);
        // Another user's online window ends (8 s + 24 s) on the tick that first meets the dead gateway (12 s + 20 s).
        await j.BeatAsync(PresenceRole.Therapist, "t-other");
        await SweepEveryFourSecondsAsync(j, 1, renew: ["gw-big"]);
        Assert.All(await SweepEveryFourSecondsAsync(j, 4, renew: []), r => Assert.Equal(0, r.Transitions));
        Assert.False(j.Sweeper.HoldingInstances);

        var first = (await SweepEveryFourSecondsAsync(j, 1, renew: []))[0];

        Assert.Equal(["online/heartbeat", "recent/timeout"], await j.TransitionsAsync(PresenceRole.Therapist, "t-other"));
        Assert.False(first.CaughtUp);
        Assert.Equal(0, first.InstancesRemoved);
        Assert.Equal(150, await j.Db.SetLengthSumAsync(j.Keys.InAllShards(shard => j.Keys.InstanceConnections(PresenceRole.Community, shard, "gw-big"))));
        var rest = await j.SweepUntilCaughtUpAsync(maxTicks: 5);
        Assert.Equal(2, rest.Count);
        Assert.Equal(1, rest.Sum(r => r.InstancesRemoved));
        Assert.Equal(250, (await j.EventsAsync(PresenceRole.Community)).Count(e => e["reason"] == PresenceReason.LostInstance));
        Assert.Null(await j.Db.SortedSetScoreAsync(j.Keys.GatewayInstances, "gw-big"));
    }

    [Fact]
    public async Task A_gateway_paused_for_less_than_its_lease_gives_no_transition()
    {
        await App.GatewayHoldsAsync("gw-1", (PresenceRole.Therapist, "t-1"));
        var reports = new List<SweepReport>();
        // Ticks every second; the gateway renews every 5 s until 20 s, then is paused just before its renewal at 25 s
        // for 14 s (under its 15 s lease) and renews at 39 s, as soon as it runs again.
        for (var second = 1; second <= 45; second++)
        {
            App.Fake.Advance(TimeSpan.FromSeconds(1));
            if ((second <= 20 && second % 5 == 0) || second == 39)
            {
                await App.Connections.RenewInstanceAsync("gw-1", Ct);
            }

            reports.Add(await App.Sweeper.SweepOnceAsync(Ct));
        }

        Assert.Equal(0, reports.Sum(r => r.InstancesRemoved));
        Assert.Equal(["online/heartbeat"], await App.TransitionsAsync(PresenceRole.Therapist, "t-1"));
    }

    /// <summary>Ticks as the leader does after a start (a few seconds apart, under the renewal pace), renewing the given gateways first.</summary>
    private static async Task<List<SweepReport>> SweepEveryFourSecondsAsync(JanitorHarness j, int ticks, string[] renew)
    {
        var reports = new List<SweepReport>();
        for (var t = 0; t < ticks; t++)
        {
            j.Fake.Advance(TimeSpan.FromSeconds(4));
            foreach (var gateway in renew)
            {
                await j.Connections.RenewInstanceAsync(gateway, Ct);
            }

            reports.Add(await j.Sweeper.SweepOnceAsync(Ct));
        }

        return reports;
    }
}
