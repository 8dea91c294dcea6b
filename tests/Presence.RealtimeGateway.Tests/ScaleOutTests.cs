using Microsoft.AspNetCore.SignalR.Client;
using Presence.Core;
using Presence.RealtimeGateway.Hubs;
using Presence.Testing;
using StackExchange.Redis;
using Role = Presence.Core.Role;

namespace Presence.RealtimeGateway.Tests;

/// <summary>Two gateway instances on one Redis (one key prefix, one backplane channel prefix), as the aspnetcore backplane tests run two servers.</summary>
public sealed class ScaleOutTests(RedisServer redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_watcher_on_one_instance_receives_the_push_caused_by_a_user_on_the_other_exactly_once()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var a = new GatewayFactory(redis, prefix);
        await using var b = new GatewayFactory(redis, prefix);
        await using var watcher = await a.ConnectAsync(token: null);
        var pushes = Pushes.On(watcher);
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-x", "t-sentinel" }, Ct);
        await using var user = await b.ConnectAsync(DevTokens.Therapist("t-x"));

        await user.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-x", Available = true }, Ct);
        await user.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);

        await pushes.WaitForAsync("t-x", "online");
        await pushes.WaitForAsync("t-x", "available");
        await using var sentinel = await b.ConnectAsync(DevTokens.Therapist("t-sentinel"));
        await sentinel.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
        await pushes.WaitForAsync("t-sentinel", "online");
        Assert.Equal(1, pushes.Count("t-x", "online"));
        Assert.Equal(1, pushes.Count("t-x", "available"));
        await Poll.UntilAsync(async () => (await redis.Database.StreamPendingAsync(a.PresenceKeys.Events(Role.Therapist), "gateways")).PendingMessageCount == 0,
            () => "events stayed pending in the consumer group");
    }

    [Fact]
    public async Task Users_of_an_instance_that_stopped_renewing_its_lease_go_offline_when_the_janitor_removes_it()
    {
        var prefix = RedisServer.NewKeyPrefix();
        await using var a = new GatewayFactory(redis, prefix);
        // B renews its lease on its own clock, which the test never moves: to the rest of the system it is a killed pod.
        await using var b = new GatewayFactory(redis, prefix);
        await using var watcher = await a.ConnectAsync(token: null);
        var pushes = Pushes.On(watcher);
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-k" }, Ct);
        await using var user = await b.ConnectAsync(DevTokens.Therapist("t-k"));
        await user.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-k" }, Ct);
        await pushes.WaitForAsync("t-k", "online");
        await using var janitor = new JanitorStand(redis, prefix);

        Assert.DoesNotContain(b.InstanceId, await janitor.Connections.LapsedInstancesAsync(10, Ct));
        janitor.Time.Advance(janitor.Options.InstanceLease + TimeSpan.FromSeconds(1));
        var lapsed = await janitor.Connections.LapsedInstancesAsync(10, Ct);
        Assert.Contains(b.InstanceId, lapsed);
        Assert.Equal(1, await janitor.Connections.RemoveInstanceAsync(b.InstanceId, Ct));

        await pushes.WaitForAsync("t-k", "recent");
        Assert.Null(await redis.Database.SortedSetScoreAsync(a.PresenceKeys.Online(Role.Therapist), "t-k"));
        Assert.False(await redis.Database.KeyExistsAsync(a.PresenceKeys.Connections(Role.Therapist, "t-k")));
    }

    [Fact]
    public async Task An_event_read_by_a_consumer_that_never_acknowledges_is_reclaimed_and_delivered_by_a_live_instance()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            ["Gateway:ReclaimIdle"] = "00:00:01",
            ["Gateway:ReclaimInterval"] = "00:00:00.200",
        });
        await using var watcher = await gateway.ConnectAsync(token: null);
        var pushes = Pushes.On(watcher);
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-orphan" }, Ct);
        var events = gateway.PresenceKeys.Events(Role.Therapist);
        var at = gateway.Time.GetUtcNow().ToUnixTimeMilliseconds();

        // Appended and read by a consumer that then dies, atomically, so the live instance cannot read it first.
        var transaction = redis.Database.CreateTransaction();
        _ = transaction.StreamAddAsync(events, [new("role", "therapist"), new("id", "t-orphan"), new("status", "online"), new("at", at)]);
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
}
