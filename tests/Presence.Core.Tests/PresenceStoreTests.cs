namespace Presence.Core.Tests;

public sealed class PresenceStoreTests(RedisServer redis) : HostTests<StoreHarness>(new(redis))
{
    [Fact]
    public async Task First_heartbeat_records_lastseen_online_until_and_user_hash_with_retention_ttl()
    {
        var result = await App.BeatAsync(PresenceRole.Therapist, "t-1");

        Assert.True(result.Accepted);
        Assert.True(result.CameOnline);
        Assert.Equal(App.NowMs, (long)(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"))!);
        Assert.Equal(App.NowMs + 120_000, (long)(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"))!);
        var hash = (await App.Db.HashGetAllAsync(App.Keys.User(PresenceRole.Therapist, "t-1"))).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        Assert.Equal(App.NowMs.ToString(System.Globalization.CultureInfo.InvariantCulture), hash["lastActive"]);
        Assert.Equal("rest", hash["transport"]);
        var ttl = await App.Db.KeyTimeToLiveAsync(App.Keys.User(PresenceRole.Therapist, "t-1"));
        Assert.InRange(ttl!.Value, TimeSpan.FromHours(24) - TimeSpan.FromSeconds(5), TimeSpan.FromHours(24));
    }

    [Fact]
    public async Task Came_online_is_reported_and_streamed_once_while_the_user_stays_online()
    {
        Assert.True((await App.BeatAsync(PresenceRole.Community, "c-1")).CameOnline);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.False((await App.BeatAsync(PresenceRole.Community, "c-1")).CameOnline);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.False((await App.BeatAsync(PresenceRole.Community, "c-1", HeartbeatTransport.Hub)).CameOnline);

        var events = await App.EventsAsync(PresenceRole.Community);
        var online = Assert.Single(events);
        Assert.Equal("community", (string?)online["role"]);
        Assert.Equal("c-1", (string?)online["id"]);
        Assert.Equal("online", (string?)online["status"]);
        Assert.Empty(await App.EventsAsync(PresenceRole.Therapist));
    }

    [Fact]
    public async Task Concurrent_first_heartbeats_stream_exactly_one_online_event()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => App.BeatAsync(PresenceRole.Therapist, "t-9", HeartbeatTransport.Hub)));

        Assert.Equal(1, results.Count(r => r.CameOnline));
        Assert.Single(await App.EventsAsync(PresenceRole.Therapist));
    }

    [Fact]
    public async Task Availability_lapses_after_the_ttl_unless_renewed()
    {
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", true, ct: TestContext.Current.CancellationToken);
        Assert.Equal(App.NowMs + (long)TimeSpan.FromHours(12).TotalMilliseconds,
            (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"))!);
        App.Time.Advance(TimeSpan.FromHours(1));
        await App.BeatAsync(PresenceRole.Therapist, "t-1", available: true);
        Assert.Equal(App.NowMs + (long)TimeSpan.FromHours(12).TotalMilliseconds,
            (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"))!);
    }

    [Fact]
    public async Task Heartbeat_after_the_online_window_passed_but_before_the_sweep_keeps_the_user_online_without_an_event()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1");
        App.Time.Advance(TimeSpan.FromSeconds(121));

        var again = await App.BeatAsync(PresenceRole.Therapist, "t-1");

        // No leave was emitted, so no second online either: never online twice without a leave in between.
        Assert.False(again.CameOnline);
        Assert.Single(await App.EventsAsync(PresenceRole.Therapist));
        Assert.False(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-1", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Scores_never_go_back_in_time()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1", HeartbeatTransport.Hub);
        var later = App.NowMs;
        // A second replica whose clock is 50 s behind writes to the same keys.
        await using var behind = new StoreHarness(redis, prefix: App.Keys.Prefix, start: App.Time.GetUtcNow().AddSeconds(-50));

        await behind.BeatAsync(PresenceRole.Therapist, "t-1", HeartbeatTransport.Hub);

        Assert.Equal(later, (long)(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"))!);
        // A hub session lasts the stale-connection window after its last heartbeat.
        Assert.Equal(later + 90_000, (long)(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"))!);
    }

    [Fact]
    public async Task Rest_heartbeat_within_min_interval_is_refused_with_retry_after_and_changes_nothing()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1");
        var firstSeen = (long)(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"))!;
        App.Time.Advance(TimeSpan.FromSeconds(4));

        var refused = await App.BeatAsync(PresenceRole.Therapist, "t-1");

        Assert.False(refused.Accepted);
        Assert.Equal(TimeSpan.FromSeconds(6), refused.RetryAfter);
        Assert.Equal(firstSeen, (long)(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"))!);

        App.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.True((await App.BeatAsync(PresenceRole.Therapist, "t-1")).Accepted);
    }

    [Fact]
    public async Task Hub_heartbeats_are_not_bound_by_the_rest_min_interval()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1");
        App.Time.Advance(TimeSpan.FromSeconds(1));

        var hub = await App.BeatAsync(PresenceRole.Therapist, "t-1", HeartbeatTransport.Hub);

        Assert.True(hub.Accepted);
        Assert.Equal("hub", (string?)await App.Db.HashGetAsync(App.Keys.User(PresenceRole.Therapist, "t-1"), "transport"));
    }

    [Fact]
    public async Task Min_interval_is_per_device_user_and_role()
    {
        await App.BeatAsync(PresenceRole.Therapist, "u-1");
        Assert.True((await App.BeatAsync(PresenceRole.Therapist, "u-2")).Accepted);
        Assert.True((await App.BeatAsync(PresenceRole.Community, "u-1")).Accepted);
        Assert.True((await App.DeviceBeatAsync(PresenceRole.Therapist, "u-1", "phone")).Accepted);
        Assert.False((await App.DeviceBeatAsync(PresenceRole.Therapist, "u-1", "phone")).Accepted);
    }

    [Fact]
    public async Task Sign_off_leaves_after_the_grace_emits_recent_signoff_once_and_clears_the_min_interval()
    {
        var ct = TestContext.Current.CancellationToken;
        await App.BeatAsync(PresenceRole.Therapist, "t-1");

        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.SignOffAsync(PresenceRole.Therapist, "t-1", ct: ct));
        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.SignOffAsync(PresenceRole.Therapist, "t-1", ct: ct));
        Assert.Equal(App.NowMs + 10_000, (long)(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"))!);
        App.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-1", ct));
        Assert.False(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-1", ct));

        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"));
        var events = await App.StateEventsAsync(PresenceRole.Therapist);
        Assert.Equal(["online/heartbeat", "recent/signoff"], events.Select(e => e.Status + "/" + e.Reason));
        Assert.True((await App.BeatAsync(PresenceRole.Therapist, "t-1")).CameOnline);
    }

    [Fact]
    public async Task Availability_set_and_unset_emit_state_events_with_reason_set_only_on_change()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.True((await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", true, ct: ct)).Changed);
        Assert.False((await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", true, ct: ct)).Changed);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"));
        var until = App.Time.GetUtcNow().AddHours(2);
        Assert.True((await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", true, until, ct)).Changed);
        Assert.True((await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", false, ct: ct)).Changed);
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"));

        var events = await App.StateEventsAsync(PresenceRole.Therapist);
        Assert.All(events, e => Assert.Equal(PresenceReason.Set, e.Reason));
        Assert.All(events, e => Assert.Equal("offline", e.Status));
        Assert.Equal([true, true, false], events.Select(e => e.Available));
        Assert.Equal([null, until.ToUnixTimeMilliseconds(), null], events.Select(e => e.AvailableUntil?.ToUnixTimeMilliseconds()));
        Assert.Equal(events.Select(e => e.Ver).Order(), events.Select(e => e.Ver));
        Assert.Equal(3, events.Select(e => e.Ver).Distinct().Count());
    }

    [Fact]
    public async Task Heartbeat_can_set_availability_in_the_same_round_trip_and_emits_one_state_event()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1", available: true);

        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"));
        var e = Assert.Single(await App.StateEventsAsync(PresenceRole.Therapist));
        Assert.Equal(("online", true, PresenceReason.Heartbeat), (e.Status, e.Available, e.Reason));
        Assert.Equal(App.Time.GetUtcNow(), e.At);
        Assert.Equal(App.Time.GetUtcNow(), e.LastActive);
    }

    [Fact]
    public async Task Scripts_are_reloaded_after_the_server_forgets_them()
    {
        await App.BeatAsync(PresenceRole.Community, "c-1", HeartbeatTransport.Hub);
        var server = App.Redis.Client.GetServer(App.Redis.Client.GetEndPoints()[0]);
        await server.ScriptFlushAsync();

        var after = await App.BeatAsync(PresenceRole.Community, "c-1", HeartbeatTransport.Hub);
        Assert.True(after.Accepted);
        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.CloseConnectionAsync(PresenceRole.Community, "c-1", "local", "default", TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("a:b")]
    [InlineData("{tag}")]
    [InlineData("x*")]
    public async Task Invalid_ids_never_reach_a_key(string id)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => App.BeatAsync(PresenceRole.Therapist, id));
        Assert.Empty(await App.EventsAsync(PresenceRole.Therapist));
        Assert.False(await App.Db.AnyKeyExistsAsync(App.Keys.InAllShards(s => App.Keys.LastSeen(PresenceRole.Therapist, s))));
    }

    [Fact]
    public async Task Event_stream_is_capped_approximately()
    {
        await using var h = new StoreHarness(redis, o => o.EventStreamMaxLength = 100);
        // Users of one shard, so all 600 events go to one shard's stream.
        foreach (var id in Enumerable.Range(0, 100_000).Select(i => "c-" + i).Where(id => h.Keys.ShardOf(id) == 3).Take(600))
        {
            await h.BeatAsync(PresenceRole.Community, id, HeartbeatTransport.Hub);
        }

        var length = await h.Db.StreamLengthAsync(h.Keys.Events(PresenceRole.Community, 3));
        Assert.InRange(length, 100, 300);
    }
}
