using System.Runtime.CompilerServices;

namespace Presence.Janitor.Tests;

/// <summary>
/// Stalls on the real clock (docs/reliability.md, "Stalls"): Redis and its clients frozen (Redis with SIGSTOP) far
/// longer than a gateway's lease must not turn a live gateway's users offline once they run again, while a gateway
/// that really died is still detected. The janitor ticks as its worker does (every second, carrying on through Redis failures); the live
/// gateway's lease loop renews every third of its lease and carries on through failures, as the gateway's does.
/// </summary>
public sealed class StallTests(PrivateRedis own) : IClassFixture<PrivateRedis>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task Redis_and_its_clients_frozen_for_25_s_give_no_transition_to_a_live_gateways_users_and_a_dead_gateway_is_still_removed()
    {
        await using var j = new JanitorHarness(own.Server, presence: o => o.InstanceLease = Lease, time: TimeProvider.System);
        // The gateway is another process: its own connection and circuit breaker.
        await using var g = new JanitorHarness(own.Server, j.Prefix, presence: o => o.InstanceLease = Lease, time: TimeProvider.System);
        await g.Connections.RenewInstanceAsync("gw-live", Ct);
        await g.Connections.RenewInstanceAsync("gw-dead", Ct);
        await g.HubBeatAsync(PresenceRole.Therapist, "t-live", "gw-live", "a");
        await g.HubBeatAsync(PresenceRole.Therapist, "t-dead", "gw-dead", "b");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var gatewayPaused = new StrongBox<bool>(false);
        var janitorPaused = new StrongBox<bool>(false);
        var gateway = RunAsync(() => g.Connections.RenewInstanceAsync("gw-live", stop.Token), Lease / 3, gatewayPaused, stop.Token);
        var janitor = RunAsync(() => j.Sweeper.SweepOnceAsync(stop.Token), TimeSpan.FromSeconds(1), janitorPaused, stop.Token);
        try
        {
            // Past the janitor's first hold with both leases fresh; then gw-dead is gone, and Redis and every client of
            // it freeze for 25 s (a paused VM): nobody renews, nobody sweeps.
            await Task.Delay(Lease + TimeSpan.FromSeconds(1), Ct);
            Assert.False(j.Sweeper.HoldingInstances);
            gatewayPaused.Value = janitorPaused.Value = true;
            await own.Server.PauseAsync();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(25), Ct);
            }
            finally
            {
                await own.Server.ResumeAsync();
            }

            // Everything runs again; the janitor's tick comes first, the gateway's renewal within its pace (2 s).
            janitorPaused.Value = false;
            await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
            gatewayPaused.Value = false;

            // gw-dead is still found lapsed once the hold (one lease after Redis answered the janitor again) is over.
            await Poll.UntilAsync(
                async () => (await j.TransitionsAsync(PresenceRole.Therapist, "t-dead")).Length == 2, "t-dead lost with gw-dead", timeout: TimeSpan.FromSeconds(30));

            // The sentinel, not a sleep: a gateway that registers now and never renews is lost one lease later; by then
            // any wrong verdict on gw-live would have been given too.
            await g.Connections.RenewInstanceAsync("gw-sentinel", Ct);
            await g.HubBeatAsync(PresenceRole.Therapist, "t-sentinel", "gw-sentinel", "c");
            await Poll.UntilAsync(
                async () => (await j.TransitionsAsync(PresenceRole.Therapist, "t-sentinel")).Length == 2, "t-sentinel lost with gw-sentinel", timeout: TimeSpan.FromSeconds(30));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(gateway, janitor);
        }

        Assert.Equal(["online/heartbeat"], await j.TransitionsAsync(PresenceRole.Therapist, "t-live"));
        Assert.Equal(["online/heartbeat", "recent/lost-instance"], await j.TransitionsAsync(PresenceRole.Therapist, "t-dead"));
        Assert.NotNull(await j.Db.SortedSetScoreAsync(j.Keys.GatewayInstances, "gw-live"));
    }

    [Fact]
    public async Task A_REST_user_whose_beats_could_not_land_while_Redis_was_frozen_is_not_timed_out_when_it_comes_back()
    {
        // A window far shorter than the freeze: without the hold, the first tick after it would time the user out.
        static void Rest(PresenceOptions o)
        {
            o.InstanceLease = Lease;
            o.OnlineWindow = TimeSpan.FromSeconds(8);
            o.HeartbeatInterval = TimeSpan.FromSeconds(3);
            o.MinHeartbeatInterval = TimeSpan.FromSeconds(1);
        }

        await using var j = new JanitorHarness(own.Server, presence: Rest, time: TimeProvider.System);
        // The client's heartbeats go through another process (heartbeat-api): its own connection and breaker.
        await using var api = new JanitorHarness(own.Server, j.Prefix, presence: Rest, time: TimeProvider.System);
        await api.BeatAsync(PresenceRole.Therapist, "t-rest");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var stopClient = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var clientPaused = new StrongBox<bool>(false);
        var noPause = new StrongBox<bool>(false);
        var client = RunAsync(() => api.BeatAsync(PresenceRole.Therapist, "t-rest"), TimeSpan.FromSeconds(3), clientPaused, stopClient.Token);
        // The janitor ticks as its worker does, failing on Redis while it is frozen.
        var janitor = RunAsync(() => j.Sweeper.SweepOnceAsync(stop.Token), TimeSpan.FromSeconds(1), noPause, stop.Token);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            clientPaused.Value = true;
            await own.Server.PauseAsync();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(20), Ct);
            }
            finally
            {
                await own.Server.ResumeAsync();
            }

            // The janitor's ticks run at once; the client's next beat lands 2 s later, inside its interval.
            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            clientPaused.Value = false;
            await Task.Delay(TimeSpan.FromSeconds(6), Ct);

            // The sentinel: once the client stops, the janitor (past its hold) times the user out.
            await stopClient.CancelAsync();
            await client;
            await Poll.UntilAsync(
                async () => (await j.TransitionsAsync(PresenceRole.Therapist, "t-rest")).Length >= 2, "t-rest timed out after it stopped", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(client, janitor);
        }

        Assert.Equal(["online/heartbeat", "recent/timeout"], await j.TransitionsAsync(PresenceRole.Therapist, "t-rest"));
    }

    [Fact]
    public async Task A_leader_paused_for_twice_its_lease_is_replaced_and_every_transition_is_emitted_once()
    {
        var lease = TimeSpan.FromSeconds(1);
        void Janitor(JanitorOptions o) => o.LeaseDuration = lease;
        void Presence(PresenceOptions o)
        {
            o.OnlineWindow = TimeSpan.FromSeconds(3);
            o.HeartbeatInterval = TimeSpan.FromSeconds(2);
            o.MinHeartbeatInterval = TimeSpan.FromSeconds(1);
        }

        await using var a = new JanitorHarness(own.Server, janitor: Janitor, presence: Presence, time: TimeProvider.System);
        await using var b = new JanitorHarness(own.Server, a.Prefix, janitor: Janitor, presence: Presence, time: TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var aPaused = new StrongBox<bool>(false);
        var noPause = new StrongBox<bool>(false);
        // Each replica as its workers run it: the lease at its pace, a sweep every 200 ms while it leads.
        var loops = new[]
        {
            RunAsync(async () => await a.Lease.TryAcquireOrRenewAsync(stop.Token), a.JanitorOptions.RenewInterval, aPaused, stop.Token),
            RunAsync(async () => { if (a.Lease.IsLeader) { await a.Sweeper.SweepOnceAsync(stop.Token); } }, TimeSpan.FromMilliseconds(200), aPaused, stop.Token),
        };
        await Poll.UntilAsync(() => Task.FromResult(a.Lease.IsLeader), "a leads", timeout: TimeSpan.FromSeconds(10));
        loops =
        [
            .. loops,
            RunAsync(async () => await b.Lease.TryAcquireOrRenewAsync(stop.Token), b.JanitorOptions.RenewInterval, noPause, stop.Token),
            RunAsync(async () => { if (b.Lease.IsLeader) { await b.Sweeper.SweepOnceAsync(stop.Token); } }, TimeSpan.FromMilliseconds(200), noPause, stop.Token),
        ];
        var users = Enumerable.Range(0, 40).Select(i => "t-" + i).ToArray();
        try
        {
            // Users whose online windows end before, during and after the pause.
            foreach (var user in users.Take(20))
            {
                await a.BeatAsync(PresenceRole.Therapist, user);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            aPaused.Value = true;
            foreach (var user in users.Skip(20))
            {
                await b.BeatAsync(PresenceRole.Therapist, user);
            }

            await Poll.UntilAsync(() => Task.FromResult(b.Lease.IsLeader), "b takes over", timeout: TimeSpan.FromSeconds(10));
            await Task.Delay(lease * 2, Ct);
            aPaused.Value = false;
            await Poll.UntilAsync(
                async () => (await Task.WhenAll(users.Select(u => a.TransitionsAsync(PresenceRole.Therapist, u)))).All(t => t.Length >= 2), "every user left", timeout:
                TimeSpan.FromSeconds(20));
            // The sentinel, not a sleep: a user who beats now leaves after every sweep that could repeat a transition.
            await b.BeatAsync(PresenceRole.Therapist, "t-sentinel");
            await Poll.UntilAsync(
                async () => (await a.TransitionsAsync(PresenceRole.Therapist, "t-sentinel")).Length >= 2, "t-sentinel left", timeout: TimeSpan.FromSeconds(20));
            Assert.False(a.Lease.IsLeader && b.Lease.IsLeader, "two leaders");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loops);
        }

        foreach (var user in users)
        {
            Assert.Equal(["online/heartbeat", "recent/timeout"], await a.TransitionsAsync(PresenceRole.Therapist, user));
        }
    }

    /// <summary>Calls <paramref name="tick"/> every <paramref name="every"/> until stopped, carrying on through Redis failures.</summary>
    private static async Task RunAsync(Func<Task> tick, TimeSpan every, StrongBox<bool> paused, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!Volatile.Read(ref paused.Value))
                {
                    await tick();
                }
            }
            catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) || ex is OperationCanceledException)
            {
            }

            try
            {
                await Task.Delay(every, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
