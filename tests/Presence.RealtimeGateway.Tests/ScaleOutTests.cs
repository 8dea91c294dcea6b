namespace Presence.RealtimeGateway.Tests;

/// <summary>Two gateway instances on one Redis (one key prefix, one backplane channel prefix), as the aspnetcore backplane tests run two servers.</summary>
public sealed class ScaleOutTests(RedisServer redis)
{
    /// <summary>An entry idle for a second is reclaimed, looked for five times a second: a dead consumer's events move on within the test.</summary>
    private static readonly Dictionary<string, string?> QuickReclaim = new()
    {
        ["Gateway:ReclaimIdle"] = "00:00:01",
        ["Gateway:ReclaimInterval"] = "00:00:00.200",
    };

    [Fact]
    public async Task A_watcher_on_one_instance_receives_the_push_caused_by_a_user_on_the_other_exactly_once()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var a = new GatewayFactory(redis, prefix);
        await using var b = new GatewayFactory(redis, prefix);
        await using var pushes = await a.WatchAsync("t-x", "t-sentinel");
        await using var user = await b.ConnectAsync(DevTokens.Therapist("t-x"));

        await user.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-x", Available = true }, Ct);
        await user.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);

        var joined = await pushes.WaitForReasonAsync("t-x", "online", PresenceReason.Join);
        Assert.True(joined.Available);
        await using var sentinel = await b.ConnectAsync(DevTokens.Therapist("t-sentinel"));
        await sentinel.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
        await pushes.WaitForAsync("t-sentinel", "online");
        Assert.Equal(1, pushes.Count("t-x"));
        await Poll.UntilAsync(async () => await redis.Database.PendingSumAsync(a.PresenceKeys, PresenceRole.Therapist, "gateways") == 0,
            () => "events stayed pending in the consumer group");
    }

    [Fact]
    public async Task Users_of_an_instance_that_stopped_renewing_its_lease_go_offline_when_the_janitor_removes_it()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var a = new GatewayFactory(redis, prefix);
        // B renews its lease on its own clock, which the test never moves: to the rest of the system it is a killed pod.
        await using var b = new GatewayFactory(redis, prefix);
        await using var pushes = await a.WatchAsync("t-k");
        await using var user = await b.ConnectAsync(DevTokens.Therapist("t-k"));
        await user.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-k" }, Ct);
        await pushes.WaitForAsync("t-k", "online");
        await using var janitor = new JanitorStand(redis, prefix);

        Assert.DoesNotContain(b.InstanceId, await janitor.Connections.LapsedInstancesAsync(10, Ct));
        janitor.Time.Advance(janitor.Options.InstanceLease + janitor.Connections.LapseMargin + TimeSpan.FromSeconds(1));
        var lapsed = await janitor.Connections.LapsedInstancesAsync(10, Ct);
        Assert.Contains(b.InstanceId, lapsed);
        Assert.Equal(1, (await janitor.Connections.RemoveLapsedInstanceAsync(b.InstanceId, 100, Ct)).Left);

        await pushes.WaitForReasonAsync("t-k", "recent", PresenceReason.LostInstance);
        Assert.Null(await redis.Database.SortedSetScoreAsync(a.PresenceKeys.Online(PresenceRole.Therapist, "t-k"), "t-k"));
        Assert.False(await redis.Database.KeyExistsAsync(a.PresenceKeys.Sessions(PresenceRole.Therapist, "t-k")));
    }

    [Fact]
    public async Task An_event_read_by_a_consumer_that_never_acknowledges_is_reclaimed_and_delivered_by_a_live_instance()
    {
        await using var gateway = new GatewayFactory(redis, settings: QuickReclaim);
        await using var pushes = await gateway.WatchAsync("t-orphan");
        var events = gateway.PresenceKeys.Events(PresenceRole.Therapist, "t-orphan");
        var at = gateway.Time.GetUtcNow().ToUnixTimeMilliseconds();

        // Appended and read by a consumer that then dies, atomically, so the live instance cannot read it first.
        var transaction = redis.Database.CreateTransaction();
        _ = transaction.StreamAddAsync(events, new PresenceEvent(PresenceRole.Therapist, "t-orphan", 1, DateTimeOffset.FromUnixTimeMilliseconds(at), "online",
            false, null, DateTimeOffset.FromUnixTimeMilliseconds(at), PresenceReason.Heartbeat).Format());
        var deadRead = transaction.StreamReadGroupAsync(events, "gateways", "gw-dead", StreamPosition.NewMessages, 10);
        Assert.True(await transaction.ExecuteAsync());
        Assert.Single(await deadRead);
        var pending = await redis.Database.StreamPendingAsync(events, "gateways");
        Assert.Equal(1, pending.PendingMessageCount);
        Assert.Equal("gw-dead", pending.Consumers.Single().Name.ToString());

        var pushed = await pushes.WaitForAsync("t-orphan", "online");
        Assert.Equal(at, pushed.LastActive?.ToUnixTimeMilliseconds());
        await Poll.UntilAsync(async () => (await redis.Database.StreamPendingAsync(events, "gateways")).PendingMessageCount == 0,
            () => "the reclaimed event was not acknowledged");
        Assert.Equal(1, pushes.Count("t-orphan", "online"));
    }

    [Fact]
    public async Task A_reclaimed_event_older_than_a_pushed_one_is_not_pushed_and_the_watcher_ends_on_the_true_state()
    {
        await using var gateway = new GatewayFactory(redis, settings: QuickReclaim);
        await using var pushes = await gateway.WatchAsync("t-order");
        var online = await gateway.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-order", HeartbeatTransport.Rest), Ct);
        await pushes.WaitForAsync("t-order", "online");

        // A gateway reads the user's next event (a leave, as the presence script appends it: the event and the raised
        // version together) and dies before pushing it; atomically, so the live instance cannot read it first.
        var keys = gateway.PresenceKeys;
        var events = keys.Events(PresenceRole.Therapist, "t-order");
        var leave = new PresenceEvent(PresenceRole.Therapist, "t-order", online.Ver + 1, gateway.Time.GetUtcNow(), "recent", false, null,
            gateway.Time.GetUtcNow(), PresenceReason.SignOff);
        var transaction = redis.Database.CreateTransaction();
        _ = transaction.StreamAddAsync(events, leave.Format());
        _ = transaction.HashSetAsync(keys.Versions(PresenceRole.Therapist, "t-order"), "t-order", leave.Ver);
        var deadRead = transaction.StreamReadGroupAsync(events, "gateways", "gw-dead", StreamPosition.NewMessages, 10);
        Assert.True(await transaction.ExecuteAsync());
        Assert.Single(await deadRead);

        // The user's newer change is pushed by the live instance before the dead one's entry is reclaimed.
        var set = await gateway.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-order", true, ct: Ct);
        Assert.Equal(online.Ver + 2, set.Ver);
        await Poll.UntilAsync(() => pushes.All.Any(p => p.Id == "t-order" && p.Ver == set.Ver), () => "the newer event was not pushed");

        // The reclaim acknowledges the older entry without a push, and the dead consumer leaves the group.
        await Poll.UntilAsync(async () => (await redis.Database.StreamPendingAsync(events, "gateways")).PendingMessageCount == 0,
            () => "the reclaimed event was not acknowledged");
        await Poll.UntilAsync(async () => (await redis.Database.StreamConsumerInfoAsync(events, "gateways")).All(c => c.Name != "gw-dead"),
            () => "the dead consumer was not removed from the group");
        await pushes.Hub.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-order-sentinel" }, Ct);
        await PushTests.SentinelAsync(gateway, pushes, PresenceRole.Therapist, "t-order-sentinel");

        var seen = pushes.All.Where(p => p.Id == "t-order").ToList();
        Assert.Equal([online.Ver, set.Ver], seen.Select(p => p.Ver));
        Assert.Equal(("online", true), (seen[^1].Status, seen[^1].Available));
    }
}
