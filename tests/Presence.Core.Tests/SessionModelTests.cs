namespace Presence.Core.Tests;

/// <summary>Sessions, the leave grace and the state events of the model (docs/architecture.md, "Presence model").</summary>
public sealed class SessionModelTests(RedisServer redis) : HostTests<StoreHarness>(new(redis))
{
    private static string[] Transitions(IEnumerable<PresenceEvent> events) => [.. events.Select(e => e.Status + "/" + e.Reason)];

    [Fact]
    public async Task Devices_mixed_over_rest_and_hub_keep_the_user_online_until_the_last_session_ends()
    {
        await App.DeviceBeatAsync(PresenceRole.Therapist, "t-1", "phone");
        await App.HubBeatAsync(PresenceRole.Therapist, "t-1", "gw-a", "conn-1", PresenceReason.Join);
        await App.DeviceBeatAsync(PresenceRole.Therapist, "t-1", "laptop");
        Assert.Equal(3, await App.Db.SortedSetLengthAsync(App.Keys.Sessions(PresenceRole.Therapist, "t-1")));

        // Ending one session of three, then a second, changes nothing a watcher sees.
        Assert.Equal(SessionEndOutcome.SessionsRemain, await App.Store.SignOffAsync(PresenceRole.Therapist, "t-1", "phone", Ct));
        Assert.Equal(SessionEndOutcome.SessionsRemain, await App.Store.CloseConnectionAsync(PresenceRole.Therapist, "t-1", "gw-a", "conn-1", Ct));
        Assert.Equal(["online/heartbeat"], Transitions(await App.StateEventsAsync(PresenceRole.Therapist)));

        // The laptop's session lasts the online window after its beat: the user is due only then, and times out.
        App.Time.Advance(TimeSpan.FromSeconds(119));
        Assert.Empty(await App.Store.DueAsync(DueIndex.Online, PresenceRole.Therapist, App.Keys.ShardOf("t-1"), 10, Ct));
        App.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["t-1"], await App.Store.DueAsync(DueIndex.Online, PresenceRole.Therapist, App.Keys.ShardOf("t-1"), 10, Ct));
        Assert.True(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-1", Ct));

        Assert.Equal(["online/heartbeat", "recent/timeout"], Transitions(await App.StateEventsAsync(PresenceRole.Therapist)));
    }

    [Fact]
    public async Task A_hub_session_lasts_the_stale_connection_window_after_its_last_heartbeat()
    {
        await App.HubBeatAsync(PresenceRole.Community, "c-1", "gw-a", "conn-1");
        App.Time.Advance(TimeSpan.FromSeconds(60));
        await App.HubBeatAsync(PresenceRole.Community, "c-1", "gw-a", "conn-1");
        App.Time.Advance(TimeSpan.FromSeconds(89));
        Assert.False(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));
        App.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));
        Assert.Equal(["online/heartbeat", "recent/timeout"], Transitions(await App.StateEventsAsync(PresenceRole.Community)));
    }

    [Fact]
    public async Task A_reload_inside_the_grace_gives_no_events()
    {
        await App.HubBeatAsync(PresenceRole.Therapist, "t-1", "gw-a", "conn-1", PresenceReason.Join);

        // The page reloads: its connection closes, a new one joins 3 s later.
        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.CloseConnectionAsync(PresenceRole.Therapist, "t-1", "gw-a", "conn-1", Ct));
        App.Time.Advance(TimeSpan.FromSeconds(3));
        var rejoin = await App.HubBeatAsync(PresenceRole.Therapist, "t-1", "gw-b", "conn-2", PresenceReason.Join);
        App.Time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(rejoin.CameOnline);
        Assert.False(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-1", Ct));
        Assert.Equal(["online/join"], Transitions(await App.StateEventsAsync(PresenceRole.Therapist)));
        Assert.False(await App.Db.HashExistsAsync(App.Keys.User(PresenceRole.Therapist, "t-1"), "leave"));
    }

    [Fact]
    public async Task The_last_device_leaving_gives_one_recent_signoff_after_the_grace()
    {
        await App.DeviceBeatAsync(PresenceRole.Community, "c-1", "phone");
        await App.HubBeatAsync(PresenceRole.Community, "c-1", "gw-a", "conn-1");
        await App.Store.SignOffAsync(PresenceRole.Community, "c-1", "phone", Ct);
        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.CloseConnectionAsync(PresenceRole.Community, "c-1", "gw-a", "conn-1", Ct));

        App.Time.Advance(TimeSpan.FromSeconds(9.999));
        Assert.False(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));
        App.Time.Advance(TimeSpan.FromMilliseconds(1));
        var settled = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct)));

        Assert.Equal(1, settled.Count(s => s));
        var events = await App.StateEventsAsync(PresenceRole.Community);
        Assert.Equal(["online/heartbeat", "recent/signoff"], Transitions(events));
        Assert.Equal(events[0].Ver + 1, events[1].Ver);
    }

    [Fact]
    public async Task A_lapsed_gateway_ends_its_sessions_only_and_gives_lost_instance_without_grace()
    {
        await App.GatewayHoldsAsync("gw-dead", (PresenceRole.Therapist, "t-1"), (PresenceRole.Community, "c-1"), (PresenceRole.Community, "c-2"));
        await App.GatewayHoldsAsync("gw-live", (PresenceRole.Community, "c-2"));
        App.Time.Advance(TimeSpan.FromSeconds(10));
        await App.Connections.RenewInstanceAsync("gw-live", Ct);
        // Lapsed: no renewal for the lease plus the renewal pace (15 s + 5 s) since gw-dead's last one.
        App.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(await App.Connections.LapsedInstancesAsync(10, Ct));
        App.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(["gw-dead"], await App.Connections.LapsedInstancesAsync(10, Ct));
        Assert.Equal((2, 3, true), await App.Connections.RemoveLapsedInstanceAsync("gw-dead", 100, Ct));

        Assert.Equal(["online/heartbeat", "recent/lost-instance"], Transitions(await App.StateEventsAsync(PresenceRole.Therapist)));
        var community = await App.StateEventsAsync(PresenceRole.Community);
        // Per user: c-1 and c-2 may live in different shards, so only each user's own order is defined.
        Assert.Equal(["online/heartbeat", "recent/lost-instance"], Transitions([.. community.Where(e => e.Id == "c-1")]));
        Assert.Equal(["online/heartbeat"], Transitions([.. community.Where(e => e.Id == "c-2")]));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Community, "c-2"), "c-2"));
        Assert.Empty(await App.Connections.LapsedInstancesAsync(10, Ct));
        Assert.False(await App.Db.AnyKeyExistsAsync(App.Keys.InAllShards(s => App.Keys.InstanceConnections(PresenceRole.Community, s, "gw-dead"))));
    }

    [Fact]
    public async Task The_recent_window_end_gives_offline_window_ended_once()
    {
        await App.BeatAsync(PresenceRole.Community, "c-1");
        App.Time.Advance(TimeSpan.FromSeconds(120));
        Assert.True(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));

        // The window runs from the last activity: 3600 s after the beat, not after the timeout.
        App.Time.Advance(TimeSpan.FromSeconds(3600 - 120 - 1));
        Assert.Empty(await App.Store.DueAsync(DueIndex.Recent, PresenceRole.Community, App.Keys.ShardOf("c-1"), 10, Ct));
        App.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["c-1"], await App.Store.DueAsync(DueIndex.Recent, PresenceRole.Community, App.Keys.ShardOf("c-1"), 10, Ct));
        Assert.True(await App.Store.SettleAsync(DueIndex.Recent, PresenceRole.Community, "c-1", Ct));
        Assert.False(await App.Store.SettleAsync(DueIndex.Recent, PresenceRole.Community, "c-1", Ct));

        Assert.Equal(["online/heartbeat", "recent/timeout", "offline/window-ended"], Transitions(await App.StateEventsAsync(PresenceRole.Community)));
        Assert.Equal(PresenceStatus.Offline, (await App.Get<PresenceReader>().GetAsync(PresenceRole.Community, "c-1", Ct)).Status);
    }

    [Fact]
    public async Task Coming_back_inside_the_recent_window_cancels_its_end()
    {
        await App.BeatAsync(PresenceRole.Community, "c-1");
        App.Time.Advance(TimeSpan.FromSeconds(120));
        await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct);
        App.Time.Advance(TimeSpan.FromSeconds(600));
        await App.BeatAsync(PresenceRole.Community, "c-1");
        App.Time.Advance(TimeSpan.FromSeconds(3000));

        Assert.Empty(await App.Store.DueAsync(DueIndex.Recent, PresenceRole.Community, App.Keys.ShardOf("c-1"), 10, Ct));
        Assert.Equal(["online/heartbeat", "recent/timeout", "online/heartbeat"], Transitions(await App.StateEventsAsync(PresenceRole.Community)));
    }

    [Fact]
    public async Task Availability_expires_by_ttl_unless_renewed_by_a_heartbeat()
    {
        await using var h = new StoreHarness(redis, o => o.AvailabilityTtl = TimeSpan.FromHours(2));
        await h.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", true, ct: Ct);
        h.Time.Advance(TimeSpan.FromHours(1.5));
        await h.BeatAsync(PresenceRole.Therapist, "t-1", available: true);
        h.Time.Advance(TimeSpan.FromHours(1.5));
        Assert.False(await h.Store.SettleAsync(DueIndex.Available, PresenceRole.Therapist, "t-1", Ct));
        Assert.True((await h.Get<PresenceReader>().GetAsync(PresenceRole.Therapist, "t-1", Ct)).Available);

        h.Time.Advance(TimeSpan.FromHours(0.5));
        Assert.False((await h.Get<PresenceReader>().GetAsync(PresenceRole.Therapist, "t-1", Ct)).Available);
        Assert.Equal(["t-1"], await h.Store.DueAsync(DueIndex.Available, PresenceRole.Therapist, h.Keys.ShardOf("t-1"), 10, Ct));
        Assert.True(await h.Store.SettleAsync(DueIndex.Available, PresenceRole.Therapist, "t-1", Ct));

        var last = (await h.StateEventsAsync(PresenceRole.Therapist))[^1];
        Assert.Equal((PresenceReason.Expired, false), (last.Reason, last.Available));
    }

    [Fact]
    public async Task Availability_expires_at_its_until_and_a_heartbeat_does_not_extend_it()
    {
        var until = App.Time.GetUtcNow().AddMinutes(30);
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", true, until, Ct);
        App.Time.Advance(TimeSpan.FromMinutes(20));
        await App.BeatAsync(PresenceRole.Therapist, "t-1", available: true);
        var entry = await App.Get<PresenceReader>().GetAsync(PresenceRole.Therapist, "t-1", Ct);
        Assert.Equal(until, entry.AvailableUntil);

        App.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(await App.Store.SettleAsync(DueIndex.Available, PresenceRole.Therapist, "t-1", Ct));

        var events = await App.StateEventsAsync(PresenceRole.Therapist);
        Assert.Equal(["offline/set", "online/heartbeat", "online/expired"], Transitions(events));
        Assert.Equal(until, events[0].AvailableUntil);
        Assert.Null(events[2].AvailableUntil);
        Assert.False(events[2].Available);
    }

    [Fact]
    public async Task Specialties_are_stored_and_readable()
    {
        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest, Specialties: ["anxiety", "grief"]), Ct);
        Assert.Equal(["anxiety", "grief"], (await App.Get<PresenceReader>().GetAsync(PresenceRole.Therapist, "t-1", Ct)).Specialties);
        var board = await App.Get<PresenceReader>().GetBoardAsync(PresenceRole.Therapist, Ct);
        Assert.Equal(["anxiety", "grief"], Assert.Single(board.Entries).Specialties);
    }

    [Fact]
    public async Task Events_parse_back_to_what_was_formatted()
    {
        var e = new PresenceEvent(PresenceRole.Therapist, "t-1", 42, DateTimeOffset.FromUnixTimeMilliseconds(1_000), "recent", true,
            DateTimeOffset.FromUnixTimeMilliseconds(5_000), DateTimeOffset.FromUnixTimeMilliseconds(900), PresenceReason.SignOff);
        await App.Get<PresenceEventStream>().AppendAsync(e, Ct);
        Assert.Equal(e, Assert.Single(await App.StateEventsAsync(PresenceRole.Therapist)));
    }

    [Fact]
    public async Task A_lapsed_gateway_that_renewed_since_it_was_listed_is_left_alone()
    {
        await App.Connections.RenewInstanceAsync("gw-paused", Ct);
        await App.HubBeatAsync(PresenceRole.Therapist, "t-1", "gw-paused", "a");
        App.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(["gw-paused"], await App.Connections.LapsedInstancesAsync(10, Ct));

        // The gateway (or a janitor paused with the list in hand) came back: its renewal wins.
        await App.Connections.RenewInstanceAsync("gw-paused", Ct);
        Assert.Equal((0, 0, true), await App.Connections.RemoveLapsedInstanceAsync("gw-paused", 100, Ct));

        Assert.Equal(["online/heartbeat"], Transitions(await App.StateEventsAsync(PresenceRole.Therapist)));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.GatewayInstances, "gw-paused"));
        Assert.True(await App.Db.SetContainsAsync(App.Keys.InstanceConnections(PresenceRole.Therapist, "t-1", "gw-paused"), "t-1|a"));
    }

    [Fact]
    public async Task A_lapsed_gateway_is_removed_at_most_so_many_sessions_per_call()
    {
        await App.Connections.RenewInstanceAsync("gw-big", Ct);
        for (var i = 0; i < 30; i++)
        {
            await App.HubBeatAsync(PresenceRole.Community, "c-" + i, "gw-big", "k" + i);
        }

        App.Time.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal((12, 12, false), await App.Connections.RemoveLapsedInstanceAsync("gw-big", 12, Ct));
        Assert.Equal(18, await App.Db.SetLengthSumAsync(App.Keys.InAllShards(shard => App.Keys.InstanceConnections(PresenceRole.Community, shard, "gw-big"))));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.GatewayInstances, "gw-big"));
        Assert.Equal((12, 12, false), await App.Connections.RemoveLapsedInstanceAsync("gw-big", 12, Ct));
        Assert.Equal((6, 6, true), await App.Connections.RemoveLapsedInstanceAsync("gw-big", 12, Ct));
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.GatewayInstances, "gw-big"));
        var events = await App.StateEventsAsync(PresenceRole.Community);
        Assert.Equal(30, events.Count(e => e.Reason == PresenceReason.LostInstance));
    }
}
