namespace Presence.RealtimeGateway.Tests;

public sealed class PushTests(RedisServer redis) : HostTests<GatewayFactory>(new(redis))
{
    [Fact]
    public async Task A_store_heartbeat_of_a_therapist_produces_exactly_one_presence_changed_on_a_watcher()
    {
        await using var pushes = await App.WatchAsync("t-1", "t-sentinel");

        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);

        var online = await pushes.WaitForAsync("t-1", "online");
        Assert.Equal("therapist", online.Role);
        Assert.Equal(PresenceReason.Heartbeat, online.Reason);
        Assert.True(online.Ver > 0);
        Assert.Equal(App.Time.GetUtcNow().AddSeconds(-30).ToUnixTimeMilliseconds(), online.At.ToUnixTimeMilliseconds());
        Assert.Equal(App.Time.GetUtcNow().AddSeconds(-30).ToUnixTimeMilliseconds(), online.LastActive?.ToUnixTimeMilliseconds());
        await SentinelAsync(App, pushes, PresenceRole.Therapist, "t-sentinel");
        Assert.Equal(1, pushes.Count("t-1", "online"));
        Assert.Equal(2, pushes.All.Count);
    }

    [Fact]
    public async Task A_connection_watching_all_therapists_and_one_by_id_receives_each_change_once()
    {
        await using var watcher = await App.ConnectAsync(DevTokens.Community("c-watch"));
        var pushes = Pushes.On(watcher);
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-2" }, Ct);
        await watcher.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct);

        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-2", HeartbeatTransport.Rest, Available: true), Ct);
        Assert.True((await pushes.WaitForAsync("t-2", "online")).Available);
        await SentinelAsync(App, pushes, PresenceRole.Therapist, "t-other");
        Assert.Equal(1, pushes.Count("t-2"));

        await watcher.InvokeAsync("unwatchTherapists", Ct);
        await App.Store.SignOffAsync(PresenceRole.Therapist, "t-2", ct: Ct);
        await App.EndGraceAsync(PresenceRole.Therapist, "t-2");
        await pushes.WaitForReasonAsync("t-2", "recent", PresenceReason.SignOff);
        await App.Store.SignOffAsync(PresenceRole.Therapist, "t-other", ct: Ct);
        await App.EndGraceAsync(PresenceRole.Therapist, "t-other");
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-late" }, Ct);
        await SentinelAsync(App, pushes, PresenceRole.Therapist, "t-late");
        Assert.Equal(0, pushes.Count("t-other", "recent"));
    }

    [Fact]
    public async Task Unwatched_users_are_not_pushed_and_community_watchers_get_community_changes()
    {
        await using var therapist = await App.ConnectAsync(DevTokens.Therapist("t-w"));
        var pushes = Pushes.On(therapist);
        await therapist.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-3" }, Ct);
        await therapist.InvokeAsync<PresenceSnapshot>("watchCommunity", new[] { "c-3" }, Ct);
        await therapist.InvokeAsync("unwatch", new[] { "t-3" }, Ct);

        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-3", HeartbeatTransport.Rest), Ct);
        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-3", HeartbeatTransport.Rest), Ct);

        var community = await pushes.WaitForAsync("c-3", "online");
        Assert.Equal("community", community.Role);
        await therapist.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-sentinel" }, Ct);
        await SentinelAsync(App, pushes, PresenceRole.Therapist, "t-sentinel");
        Assert.Equal(0, pushes.Count("t-3", "online"));
    }

    [Fact]
    public async Task Closing_one_tab_of_two_keeps_the_user_online_and_closing_the_last_pushes_recent_after_the_grace()
    {
        await using var pushes = await App.WatchAsync("t-md", "t-sentinel");
        var tab1 = await App.ConnectAsync(DevTokens.Therapist("t-md"));
        var tab2 = await App.ConnectAsync(DevTokens.Therapist("t-md"));
        await tab1.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-md" }, Ct);
        await tab2.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-md" }, Ct);
        await pushes.WaitForAsync("t-md", "online");
        var keys = App.PresenceKeys;
        Assert.Equal(2, await redis.Database.SortedSetLengthAsync(keys.Sessions(PresenceRole.Therapist, "t-md")));
        var joinedAt = App.Time.GetUtcNow();

        await tab1.DisposeAsync();
        await Poll.UntilAsync(async () => await redis.Database.SortedSetLengthAsync(keys.Sessions(PresenceRole.Therapist, "t-md")) == 1,
            () => "the closed tab's session was not ended");
        Assert.NotNull(await redis.Database.SortedSetScoreAsync(keys.Online(PresenceRole.Therapist, "t-md"), "t-md"));

        await tab2.DisposeAsync();
        await Poll.UntilAsync(async () => await redis.Database.HashExistsAsync(keys.User(PresenceRole.Therapist, "t-md"), "leave"),
            () => "the last tab's close did not start the leave grace");
        Assert.True(await App.EndGraceAsync(PresenceRole.Therapist, "t-md"));
        var recent = await pushes.WaitForReasonAsync("t-md", "recent", PresenceReason.SignOff);
        Assert.Null(await redis.Database.SortedSetScoreAsync(keys.Online(PresenceRole.Therapist, "t-md"), "t-md"));
        Assert.False(await redis.Database.KeyExistsAsync(keys.Sessions(PresenceRole.Therapist, "t-md")));
        Assert.Equal(joinedAt.ToUnixTimeMilliseconds(), recent.LastActive?.ToUnixTimeMilliseconds());
        await SentinelAsync(App, pushes, PresenceRole.Therapist, "t-sentinel");
        Assert.Equal(1, pushes.Count("t-md", "online"));
        Assert.Equal(1, pushes.Count("t-md", "recent"));
    }

    [Fact]
    public async Task Devices_mixed_over_rest_and_hub_keep_the_user_online_until_the_last_leaves_with_one_signoff()
    {
        await using var pushes = await App.WatchAsync("t-mix", "t-sentinel");
        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-mix", HeartbeatTransport.Rest, Session: SessionRef.Rest("phone")), Ct);
        var tab = await App.ConnectAsync(DevTokens.Therapist("t-mix"));
        await tab.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-mix" }, Ct);
        await pushes.WaitForReasonAsync("t-mix", "online", PresenceReason.Heartbeat);

        // The hub tab closes: the phone's REST session keeps the user online, and nothing is pushed.
        await tab.DisposeAsync();
        await Poll.UntilAsync(async () => await redis.Database.SortedSetLengthAsync(App.PresenceKeys.Sessions(PresenceRole.Therapist, "t-mix")) == 1,
            () => "the closed tab's session was not ended");
        Assert.False(await App.EndGraceAsync(PresenceRole.Therapist, "t-mix"));
        await SentinelAsync(App, pushes, PresenceRole.Therapist, "t-sentinel");
        Assert.Equal(1, pushes.Count("t-mix"));

        // The phone signs off: the last session; the user leaves once the grace ends.
        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.SignOffAsync(PresenceRole.Therapist, "t-mix", "phone", Ct));
        Assert.True(await App.EndGraceAsync(PresenceRole.Therapist, "t-mix"));
        var left = await pushes.WaitForReasonAsync("t-mix", "recent", PresenceReason.SignOff);
        Assert.Equal(pushes.All.First(p => p.Id == "t-mix").Ver + 1, left.Ver);
        Assert.Equal(2, pushes.Count("t-mix"));
    }

    [Fact]
    public async Task A_graceful_stop_removes_the_instance_and_its_users_leave_after_the_grace()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var survivor = new GatewayFactory(redis, prefix);
        await using var pushes = await survivor.WatchAsync("t-gs");
        var stopping = new GatewayFactory(redis, prefix);
        var user = await stopping.ConnectAsync(DevTokens.Therapist("t-gs"));
        await user.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-gs" }, Ct);
        await pushes.WaitForAsync("t-gs", "online");
        var instanceId = stopping.InstanceId;
        Assert.NotNull(await redis.Database.SortedSetScoreAsync(survivor.PresenceKeys.GatewayInstances, instanceId));

        await stopping.DisposeAsync();

        await Poll.UntilAsync(async () => await redis.Database.HashExistsAsync(survivor.PresenceKeys.User(PresenceRole.Therapist, "t-gs"), "leave"),
            () => "the stopped instance's session did not start the leave grace");
        survivor.Time.Advance(survivor.LeaveGrace + TimeSpan.FromMinutes(1));
        Assert.True(await survivor.Store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-gs", Ct));
        await pushes.WaitForReasonAsync("t-gs", "recent", PresenceReason.SignOff);
        Assert.Null(await redis.Database.SortedSetScoreAsync(survivor.PresenceKeys.GatewayInstances, instanceId));
        Assert.False(await redis.Database.KeyExistsAsync(survivor.PresenceKeys.InstanceConnections(PresenceRole.Therapist, "t-gs", instanceId)));
        await user.DisposeAsync();
    }

    /// <summary>
    /// Appends a later event the watcher also receives: once it has arrived, any duplicate of an earlier event would
    /// have arrived too (one consumer sends in stream order), so counting afterwards is a fair "exactly once".
    /// </summary>
    internal static async Task SentinelAsync(GatewayFactory gateway, Pushes pushes, PresenceRole role, string id)
    {
        await gateway.Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub), TestContext.Current.CancellationToken);
        await pushes.WaitForAsync(id, "online");
    }
}
