using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;

namespace Presence.Client.Tests;

/// <summary><see cref="PresenceHubClient"/> against the real gateway: watch, pushes, and a gateway restart.</summary>
public sealed class HubClientTests(RedisServer redis) : HostTests<Stack>(new(redis))
{
    [Fact]
    public async Task Gateway_restart_reconnects_rewatches_with_a_snapshot_and_the_next_push_arrives()
    {
        await using var hub = App.Hub(token: null);
        var pushes = new ConcurrentQueue<PresenceChange>();
        var snapshots = new ConcurrentQueue<PresenceSnapshot>();
        var reconnected = 0;
        hub.PresenceChanged += pushes.Enqueue;
        hub.SnapshotReceived += snapshots.Enqueue;
        hub.Reconnected += () => Interlocked.Increment(ref reconnected);
        await hub.StartAsync(Ct);
        await hub.WatchTherapistsAsync(Ct);
        await App.Store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-before", Core.HeartbeatTransport.Rest), Ct);
        await Poll.UntilAsync(() => Task.FromResult(pushes.Any(p => p.Id == "t-before" && p.Status == "online")), "push before restart", timeout: TimeSpan.FromSeconds(15));

        await App.RestartGatewayAsync();
        // Comes online while the client is reconnecting.
        await App.Store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-during", Core.HeartbeatTransport.Rest), Ct);
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref reconnected) == 1), "reconnected and re-watched", timeout: TimeSpan.FromSeconds(20));
        await App.Store.HeartbeatAsync(new Heartbeat(Core.PresenceRole.Therapist, "t-after", Core.HeartbeatTransport.Rest), Ct);

        await Poll.UntilAsync(() => Task.FromResult(pushes.Any(p => p.Id == "t-after" && p.Status == "online")), "push after restart", timeout: TimeSpan.FromSeconds(15));
        Assert.Equal(2, snapshots.Count);
        // t-during came online around the restart. The client reconnects on its own schedule (a reconnect attempt may
        // already reach the new gateway before this heartbeat): it learns of t-during from the snapshot of its re-watch,
        // or from a push when the re-watch came first. Either way nothing is lost.
        await Poll.UntilAsync(
            () => Task.FromResult(snapshots.Last().Entries.Any(e => e.Id == "t-during" && e.Status == "online")
                || pushes.Any(p => p.Id == "t-during" && p.Status == "online")), "t-during known online", timeout:
            TimeSpan.FromSeconds(15));
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task Therapist_joins_and_watched_ids_get_their_snapshot_and_pushes()
    {
        await using var therapist = App.Hub(DevTokens.Therapist("t-join"));
        await therapist.StartAsync(Ct);
        await using var watcher = App.Hub(DevTokens.Community("c-watch"));
        await watcher.StartAsync(Ct);
        var pushes = new ConcurrentQueue<PresenceChange>();
        watcher.PresenceChanged += pushes.Enqueue;

        var snapshot = await watcher.WatchAsync(["t-join"], Ct);
        var ack = await therapist.JoinAsTherapistAsync("t-join", ["anxiety"], available: true, Ct);

        Assert.Equal("offline", Assert.Single(snapshot.Entries).Status);
        Assert.Equal(30, ack.NextHeartbeatSeconds);
        await Poll.UntilAsync(() => Task.FromResult(pushes.Any(p => p.Id == "t-join" && p.Status == "online")), "online push", timeout: TimeSpan.FromSeconds(15));
        Assert.Equal(30, (await therapist.HeartbeatAsync(cancellationToken: Ct)).NextHeartbeatSeconds);
    }

    [Fact]
    public void Reconnect_delays_are_jittered_bounded_and_grow()
    {
        var low = new JitteredRetryPolicy { Random = () => 0 };
        var high = new JitteredRetryPolicy { Random = () => 0.999 };

        Assert.Equal(TimeSpan.Zero, low.Delay(0));
        Assert.True(high.Delay(0) is var first && first > TimeSpan.FromSeconds(1.9) && first < TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(1), low.Delay(1));
        Assert.True(high.Delay(1) > TimeSpan.FromSeconds(1.99));
        Assert.Equal(TimeSpan.FromSeconds(15), low.Delay(10));
        Assert.True(high.Delay(10) <= TimeSpan.FromSeconds(30));
        var spread = Enumerable.Range(0, 200).Select(_ => new JitteredRetryPolicy().Delay(0)).Distinct().Count();
        Assert.True(spread > 100, "first retries of many clients are spread, not one instant");
        Assert.Null(new JitteredRetryPolicy { GiveUpAfter = TimeSpan.FromMinutes(1) }
            .NextRetryDelay(new RetryContext { PreviousRetryCount = 3, ElapsedTime = TimeSpan.FromMinutes(2) }));
    }
}
