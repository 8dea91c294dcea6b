using System.Globalization;
using Microsoft.AspNetCore.SignalR.Client;

namespace Presence.Janitor.Tests;

/// <summary>
/// Whole service processes paused (<c>SIGSTOP</c>/<c>SIGCONT</c>) and killed (<c>SIGKILL</c>), as a paused VM, a long
/// GC or a crash does to them (docs/reliability.md, "Stalls"): the built realtime-gateway and janitor run as child
/// processes (<see cref="ServiceProcess"/>) on free ports against this class's own redis-server, with leases shrunk
/// through configuration so each case ends within a minute. "Nothing happened" is shown by a sentinel: a transition
/// that, by the same rule, can only be emitted after the one that must not happen would have been.
/// </summary>
public sealed class ProcessStallTests(PrivateRedis own) : IClassFixture<PrivateRedis>
{
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_gateway_process_paused_for_less_than_its_lease_gives_its_connected_users_no_transition()
    {
        var lease = TimeSpan.FromSeconds(6);
        var prefix = RedisServer.NewKeyPrefix();
        var env = Env(prefix, ("Presence__InstanceLease", Span(lease)), ("Gateway__InstanceId", "gw-paused"));
        await using var janitor = Start("janitor", "janitor", "Presence.Janitor", env);
        await using var gateway = Start("gateway", "realtime-gateway", "Presence.RealtimeGateway", env);
        await Task.WhenAll(janitor.WaitReadyAsync(Ready, ct: Ct), gateway.WaitReadyAsync(Ready, ct: Ct));
        await using var h = new JanitorHarness(own.Server, prefix, presence: o => o.InstanceLease = lease, time: TimeProvider.System);

        await using var therapist = await ConnectAsync(gateway, DevTokens.Therapist("t-live"));
        await therapist.InvokeAsync<object>("joinAsTherapist", new { therapistId = "t-live" }, Ct);
        await using var member = await ConnectAsync(gateway, DevTokens.Community("c-live"));
        await member.InvokeAsync<object>("joinAsUser", Ct);
        var therapistBefore = await h.TransitionsAsync(PresenceRole.Therapist, "t-live");
        var memberBefore = await h.TransitionsAsync(PresenceRole.Community, "c-live");
        Assert.Equal("online", Assert.Single(therapistBefore).Split('/')[0]);
        Assert.Equal("online", Assert.Single(memberBefore).Split('/')[0]);

        // The sentinel: an instance renewed at the moment the gateway stops, never again. It lapses by the same rule no
        // later than the paused gateway would have had it not renewed on resume, so once its user goes lost-instance the
        // janitor has judged the gateway at a time when a missed renewal would have shown.
        await h.Connections.RenewInstanceAsync("gw-sentinel", Ct);
        await h.HubBeatAsync(PresenceRole.Therapist, "t-sentinel", "gw-sentinel", "c1");
        var pausedAt = DateTimeOffset.UtcNow;
        gateway.Pause();
        try
        {
            await Task.Delay(lease / 2, Ct);
        }
        finally
        {
            gateway.Resume();
        }

        await Poll.UntilAsync(
            async () => await h.Db.SortedSetScoreAsync(h.Keys.GatewayInstances, "gw-paused") > (pausedAt + lease).ToUnixTimeMilliseconds(), "the resumed gateway renewed its lease",
            TimeSpan.FromSeconds(20));
        await Poll.UntilAsync(
            async () => (await h.TransitionsAsync(PresenceRole.Therapist, "t-sentinel")).Contains("recent/lost-instance"), "the sentinel instance's user went recent/lost-instance",
            TimeSpan.FromSeconds(40));

        Assert.Equal(therapistBefore, await h.TransitionsAsync(PresenceRole.Therapist, "t-live"));
        Assert.Equal(memberBefore, await h.TransitionsAsync(PresenceRole.Community, "c-live"));
        // The sockets stayed open through the pause and the sessions are still the gateway's.
        Assert.Equal(HubConnectionState.Connected, therapist.State);
        await therapist.InvokeAsync<object>("heartbeat", new { }, Ct);
        Assert.Contains("gw-paused", (await h.Connections.LiveHubConnectionsAsync(PresenceRole.Therapist, "t-live", Ct)).Keys);
    }

    [Fact]
    public async Task A_janitor_leader_process_paused_for_twice_its_lease_is_replaced_and_every_stopped_user_is_reported_once()
    {
        var lease = TimeSpan.FromSeconds(2);
        var prefix = RedisServer.NewKeyPrefix();
        void Presence(PresenceOptions o)
        {
            o.OnlineWindow = TimeSpan.FromSeconds(3);
            o.HeartbeatInterval = TimeSpan.FromSeconds(2);
            o.MinHeartbeatInterval = TimeSpan.FromSeconds(1);
        }

        var env = Env(prefix, ("Presence__OnlineWindow", "00:00:03"), ("Presence__HeartbeatInterval", "00:00:02"),
            ("Presence__MinHeartbeatInterval", "00:00:01"), ("Janitor__LeaseDuration", Span(lease)));
        await using var h = new JanitorHarness(own.Server, prefix, presence: Presence, time: TimeProvider.System);
        await using var a = Start("janitor-a", "janitor", "Presence.Janitor", env);
        await a.WaitReadyAsync(Ready, ct: Ct);
        await Poll.UntilAsync(async () => await LeaderPidAsync(h) == a.Pid, "janitor-a leads", TimeSpan.FromSeconds(20));
        await using var b = Start("janitor-b", "janitor", "Presence.Janitor", env);
        await b.WaitReadyAsync(Ready, ct: Ct);

        // Users whose online windows end before, during and after the pause.
        var users = Enumerable.Range(0, 40).Select(i => "t-" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        foreach (var user in users.Take(20))
        {
            await h.BeatAsync(PresenceRole.Therapist, user);
        }

        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        var pausedAt = DateTime.UtcNow;
        a.Pause();
        try
        {
            foreach (var user in users.Skip(20))
            {
                await h.BeatAsync(PresenceRole.Therapist, user);
            }

            await Poll.UntilAsync(async () => await LeaderPidAsync(h) == b.Pid, "janitor-b takes over", TimeSpan.FromSeconds(20));
            var rest = pausedAt + (lease * 2) - DateTime.UtcNow;
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest, Ct);
            }
        }
        finally
        {
            a.Resume();
        }

        await Poll.UntilAsync(
            async () => (await Task.WhenAll(users.Select(u => h.TransitionsAsync(PresenceRole.Therapist, u)))).All(t => t.Length >= 2), "every user was reported",
            TimeSpan.FromSeconds(30));
        // The sentinel: a user who beats after the resume and lapses after everything above; whatever the resumed
        // leader still had in hand is settled by the time its transition is in the stream.
        await h.BeatAsync(PresenceRole.Therapist, "t-sentinel");
        await Poll.UntilAsync(
            async () => (await h.TransitionsAsync(PresenceRole.Therapist, "t-sentinel")).Length == 2, "the sentinel was reported", TimeSpan.FromSeconds(30));

        foreach (var user in users)
        {
            Assert.Equal(["online/heartbeat", "recent/timeout"], await h.TransitionsAsync(PresenceRole.Therapist, user));
        }

        var events = (await h.EventsAsync(PresenceRole.Therapist))
            .Select(e => PresenceEvent.TryParse(e, PresenceRole.Therapist, out var parsed) ? parsed : null).OfType<PresenceEvent>().ToList();
        Assert.Empty(events.GroupBy(e => (e.Id, e.Ver)).Where(g => g.Count() > 1).Select(g => g.Key));
        Assert.True(a.IsRunning && b.IsRunning, "both janitors still run");
    }

    [Fact]
    public async Task A_killed_gateway_process_has_its_users_go_recent_lost_instance_within_30_s()
    {
        // The default lease (15 s): the 30 s of docs/reliability.md are stated for it.
        var prefix = RedisServer.NewKeyPrefix();
        var env = Env(prefix, ("Gateway__InstanceId", "gw-killed"));
        await using var janitor = Start("janitor", "janitor", "Presence.Janitor", env);
        await using var gateway = Start("gateway", "realtime-gateway", "Presence.RealtimeGateway", env);
        await Task.WhenAll(janitor.WaitReadyAsync(Ready, ct: Ct), gateway.WaitReadyAsync(Ready, ct: Ct));
        await using var h = new JanitorHarness(own.Server, prefix, time: TimeProvider.System);
        await using var therapist = await ConnectAsync(gateway, DevTokens.Therapist("t-gone"));
        await therapist.InvokeAsync<object>("joinAsTherapist", new { therapistId = "t-gone" }, Ct);
        await using var member = await ConnectAsync(gateway, DevTokens.Community("c-gone"));
        await member.InvokeAsync<object>("joinAsUser", Ct);

        gateway.Kill();
        await Poll.UntilAsync(
            async () => (await h.TransitionsAsync(PresenceRole.Therapist, "t-gone")).Length == 2 && (await h.TransitionsAsync(PresenceRole.Community, "c-gone")).Length == 2, "the killed gateway's users left",
            TimeSpan.FromSeconds(30));

        Assert.Equal("recent/lost-instance", (await h.TransitionsAsync(PresenceRole.Therapist, "t-gone"))[1]);
        Assert.Equal("recent/lost-instance", (await h.TransitionsAsync(PresenceRole.Community, "c-gone"))[1]);
        // The instance itself is forgotten once its sets are empty (the same tick or the next).
        await Poll.UntilAsync(
            async () => await h.Db.SortedSetScoreAsync(h.Keys.GatewayInstances, "gw-killed") is null, "gw-killed forgotten", TimeSpan.FromSeconds(10));
    }

    private Dictionary<string, string> Env(string prefix, params (string Key, string Value)[] settings)
    {
        var env = new Dictionary<string, string>
        {
            ["ConnectionStrings__redis"] = own.Server.ConnectionString,
            ["Presence__KeyPrefix"] = prefix,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            env[key] = value;
        }

        return env;
    }

    private static ServiceProcess Start(string name, string project, string assembly, Dictionary<string, string> env)
    {
        var service = ServiceProcess.Dotnet(name, ServiceProcess.ServiceAssembly(project, assembly), env);
        service.Start();
        return service;
    }

    private static async Task<HubConnection> ConnectAsync(ServiceProcess gateway, string token)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(gateway.BaseUrl + "/hubs/presence", o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        await connection.StartAsync(Ct);
        return connection;
    }

    /// <summary>The process id in the lease holder's token (<c>machine/pid/guid</c>), or 0 when nobody holds it.</summary>
    private static async Task<int> LeaderPidAsync(JanitorHarness h)
    {
        var token = (string?)await h.Db.StringGetAsync(h.Keys.JanitorLease);
        return token?.Split('/') is [_, var pid, _] ? int.Parse(pid, CultureInfo.InvariantCulture) : 0;
    }

    private static string Span(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}
