using System.Globalization;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Chaos;

/// <summary>A fault of the schedule: when it began and when it was repaired (restart issued, SIGCONT, memory restored).</summary>
internal sealed record Fault(string Name, DateTimeOffset Start, DateTimeOffset Repaired, bool RedisSide);

/// <summary>One run: users, the fault schedule, then the report.</summary>
internal sealed class Run(
    Settings settings, Cluster cluster, ConnectionMultiplexer admin, ServiceProcess redis, ServiceProcess api, ServiceProcess[] gateways, ServiceProcess[] janitors, string prefix)
{
    private readonly List<Fault> _faults = [];
    private readonly Journal _journal = new();

    public async Task<int> ExecuteAsync(CancellationToken ct)
    {
        var start = DateTimeOffset.UtcNow;
        var loadEnd = start + settings.Duration;
        var users = new List<SimUser>(settings.Users);
        for (var i = 0; i < settings.Users; i++)
        {
            var therapist = i % 3 == 0;
            var hub = i % 2 == 0;
            // About one user in seven stops for good somewhere between 10% and 80% of the run.
            DateTimeOffset? stopAt = i % 7 == 3 ? start + settings.Duration * (0.1 + (0.7 * Random.Shared.NextDouble())) : null;
            users.Add(new SimUser($"{(therapist ? "t" : "c")}-{i:D5}", therapist, hub, stopAt));
        }

        var driver = new Driver(settings, _journal, api.BaseUrl!, [.. gateways.Select(g => g.BaseUrl + "/hubs/presence")]);
        var ramp = TimeSpan.FromSeconds(Math.Min(15, settings.Duration.TotalSeconds / 10));
        Console.WriteLine($"load: {settings.Users} users ({users.Count(u => u.UsesHub)} hub with 2 connections, {users.Count(u => !u.UsesHub)} REST with 2 devices), "
                          + $"{users.Count(u => u.StopAt is not null)} stop for good; {settings.Duration.TotalSeconds:0} s");
        var tasks = users.Select(async (user, i) =>
        {
            await Task.Delay(ramp * i / users.Count, ct);
            await driver.RunAsync(user, loadEnd, ct);
        }).ToList();
        var faults = ScheduleAsync(start, ct);
        await Task.WhenAll(tasks);
        await faults;

        // Let the last stoppers' transitions land (online window, janitor tick, a lease of margin), then read the streams.
        var settle = settings.OnlineWindow + settings.InstanceLease + TimeSpan.FromSeconds(5);
        Console.WriteLine($"load done; settling {settle.TotalSeconds:0} s before reading the event streams");
        await Task.Delay(settle, ct);
        var events = await ReadEventsAsync();
        return Report(users, events, loadEnd);
    }

    private async Task ScheduleAsync(DateTimeOffset start, CancellationToken ct)
    {
        var d = settings.Duration;
        async Task At(double fraction)
        {
            var wait = start + (d * fraction) - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }
        }

        await At(0.15);
        await KillAndRestartAsync("SIGKILL gateway-1", gateways[0], ct);
        await At(0.25);
        await PauseAsync("SIGSTOP gateway-2", gateways[1], settings.GatewayPause, redisSide: false, ct);
        await At(0.35);
        var leader = await LeaderAsync();
        await KillAndRestartAsync($"SIGKILL janitor leader ({leader?.Name ?? "none found"})", leader ?? janitors[0], ct);
        await At(0.45);
        await KillAndRestartAsync("SIGKILL heartbeat-api", api, ct);
        await At(0.55);
        await PauseAsync("SIGSTOP redis", redis, settings.RedisFault, redisSide: true, ct);
        await At(0.72);
        await FillMemoryAsync(ct);
    }

    private async Task KillAndRestartAsync(string name, ServiceProcess service, CancellationToken ct)
    {
        var begin = DateTimeOffset.UtcNow;
        service.Kill();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        cluster.Start(service);
        var repaired = DateTimeOffset.UtcNow;
        _faults.Add(new Fault(name, begin, repaired, RedisSide: false));
        try
        {
            await service.WaitReadyAsync(TimeSpan.FromSeconds(60), ct: ct);
            Console.WriteLine($"{Stamp(begin)} {name}: restarted, ready after {(DateTimeOffset.UtcNow - begin).TotalSeconds:0.0} s");
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            // Not ready in time, or exited at start: the report counts it among the processes that died.
            Console.WriteLine($"{Stamp(begin)} {name}: {ex.Message}");
        }
    }

    private async Task PauseAsync(string name, ServiceProcess service, TimeSpan length, bool redisSide, CancellationToken ct)
    {
        var begin = DateTimeOffset.UtcNow;
        service.Pause();
        try
        {
            await Task.Delay(length, ct);
        }
        finally
        {
            service.Resume();
        }

        _faults.Add(new Fault($"{name} {length.TotalSeconds:0} s", begin, DateTimeOffset.UtcNow, redisSide));
        Console.WriteLine($"{Stamp(begin)} {name}: resumed after {length.TotalSeconds:0} s");
    }

    private async Task FillMemoryAsync(CancellationToken ct)
    {
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var info = (await server.InfoAsync("memory")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        var used = long.Parse(info["used_memory"], CultureInfo.InvariantCulture);
        var begin = DateTimeOffset.UtcNow;
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await server.ConfigSetAsync("maxmemory", Math.Max(1_048_576, used - 262_144).ToString(CultureInfo.InvariantCulture));
        try
        {
            await Task.Delay(settings.RedisFault, ct);
        }
        finally
        {
            await server.ConfigSetAsync("maxmemory", "0");
        }

        _faults.Add(new Fault($"Redis out of memory {settings.RedisFault.TotalSeconds:0} s", begin, DateTimeOffset.UtcNow, RedisSide: true));
        Console.WriteLine($"{Stamp(begin)} Redis out of memory (maxmemory {used / 1024} KiB, noeviction): restored");
    }

    /// <summary>The janitor holding the lease: its token is <c>machine/pid/guid</c>.</summary>
    private async Task<ServiceProcess?> LeaderAsync()
    {
        var token = (string?)await admin.GetDatabase().StringGetAsync(new PresenceKeys(prefix).JanitorLease);
        var parts = token?.Split('/');
        return parts is { Length: >= 2 } && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid)
            ? janitors.FirstOrDefault(j => j.Process?.Id == pid)
            : null;
    }

    /// <summary>Every shard stream of every role (the services run with the default shard count).</summary>
    private static IEnumerable<(PresenceRole Role, RedisKey Stream)> Streams(PresenceKeys keys) =>
        Roles.All.SelectMany(r => keys.EventStreams(r).Select(stream => (r, stream)));

    private async Task<List<PresenceEvent>> ReadEventsAsync()
    {
        var db = admin.GetDatabase();
        var events = new List<PresenceEvent>();
        foreach (var (role, stream) in Streams(new PresenceKeys(prefix)))
        {
            RedisValue from = "-";
            while (true)
            {
                var batch = await db.StreamRangeAsync(stream, from, "+", 5000);
                foreach (var entry in batch)
                {
                    if (PresenceEvent.TryParse(entry, role, out var e))
                    {
                        events.Add(e);
                    }
                }

                if (batch.Length < 5000)
                {
                    break;
                }

                from = "(" + batch[^1].Id;
            }
        }

        return events;
    }

    private int Report(List<SimUser> users, List<PresenceEvent> events, DateTimeOffset loadEnd)
    {
        var byId = users.ToDictionary(u => u.Id);
        var redisFaults = _faults.Where(f => f.RedisSide).ToList();

        // False: a non-online event while the user, by its own view, still held a live session.
        var falseTransitions = new List<string>();
        foreach (var e in events.Where(e => e.Status != "online" && e.At < loadEnd))
        {
            if (byId.TryGetValue(e.Id, out var user) && (user.StoppedAt is null || e.At < user.StoppedAt) && Live(user, e.At, redisFaults) is { } why)
            {
                falseTransitions.Add($"{e.Id} {e.Status} ({e.Reason}) at {Stamp(e.At)} ver {e.Ver}: {why}");
            }
        }

        // Lost: a user who stopped for good (having been online) and got no non-online event after it stopped.
        var lost = users
            .Where(u => u.StoppedAt is { } s && s <= loadEnd && u.EverAcked)
            .Where(u => !events.Any(e => e.Id == u.Id && e.Status != "online" && e.At >= u.StoppedAt!.Value - TimeSpan.FromSeconds(1)))
            .Select(u => $"{u.Id} stopped at {Stamp(u.StoppedAt!.Value)}; {Story(u, events)}")
            .ToList();

        var duplicates = events.GroupBy(e => (e.Role, e.Id, e.Ver)).Where(g => g.Count() > 1).Select(g => $"{g.Key.Id} ver {g.Key.Ver} x{g.Count()}").ToList();
        var outcomes = _journal.Outcomes.ToList();
        var errors500 = outcomes.Count(o => o.Status == 500);
        var slow = outcomes.Count(o => o.Seconds > 2);
        var slowInFaults = outcomes.Count(o => o.Seconds > 2 && _faults.Any(f => o.At >= f.Start && o.At <= f.Repaired + TimeSpan.FromSeconds(o.Seconds + 1)));

        Console.WriteLine();
        Console.WriteLine($"events read: {events.Count} ({events.Count(e => e.Status != "online")} not online); answers: {outcomes.Count(o => !o.Hub)} REST, {outcomes.Count(o => o.Hub)} hub calls");
        Console.WriteLine();
        Console.WriteLine("| Check | Count |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| False transitions (live user reported recent/offline) | {falseTransitions.Count} |");
        Console.WriteLine($"| Lost transitions (stopped user never reported; {users.Count(u => u.StoppedAt is not null && u.EverAcked)} stopped) | {lost.Count} |");
        Console.WriteLine($"| Duplicate transitions (same role, id, ver twice) | {duplicates.Count} |");
        Console.WriteLine($"| 500 answers (REST 500, hub \"unexpected error\") | {errors500} |");
        // A service process that is not running at the end exited by itself: every fault restarts what it kills.
        var died = new[] { redis, api }.Concat(gateways).Concat(janitors).Where(s => s.Process is null || s.Process.HasExited).Select(s => s.Name).ToList();
        Console.WriteLine($"| Service processes that exited by themselves | {died.Count}{(died.Count > 0 ? " (" + string.Join(", ", died) + ")" : "")} |");
        Console.WriteLine($"| Answers slower than 2 s (of which during a fault) | {slow} ({slowInFaults}) |");
        Console.WriteLine($"| REST answers: 200 / 429 / 503 / no answer | {outcomes.Count(o => !o.Hub && o.Status is 200 or 204)} / {outcomes.Count(o => !o.Hub && o.Status == 429)} / {outcomes.Count(o => !o.Hub && o.Status == 503)} / {outcomes.Count(o => !o.Hub && o.Status <= 0)} |");
        Console.WriteLine($"| Hub calls: ok / refused / failed to connect or call | {outcomes.Count(o => o.Hub && o.Ok)} / {outcomes.Count(o => o.Hub && o.Status is 503 or 429)} / {outcomes.Count(o => o.Hub && o.Status <= 0)} |");
        Console.WriteLine();
        Console.WriteLine("| Fault | At (s) | Failed REST / hub | REST ok again after (s) | Hub ok again after (s) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        var runStart = _faults.Count > 0 ? _faults.Min(f => f.Start) - (settings.Duration * 0.15) : DateTimeOffset.UtcNow;
        for (var i = 0; i < _faults.Count; i++)
        {
            var f = _faults[i];
            var windowEnd = i + 1 < _faults.Count ? _faults[i + 1].Start : loadEnd;
            var rest = Recovery(outcomes, hub: false, f.Start, windowEnd);
            var hub = Recovery(outcomes, hub: true, f.Start, windowEnd);
            Console.WriteLine($"| {f.Name} | {(f.Start - runStart).TotalSeconds:0} | {rest.Failed} / {hub.Failed} | {rest.After} | {hub.After} |");
        }

        foreach (var (title, list) in new[] { ("false", falseTransitions), ("lost", lost), ("duplicate", duplicates) })
        {
            foreach (var line in list.Take(10))
            {
                Console.WriteLine($"{title}: {line}");
            }
        }

        return falseTransitions.Count + lost.Count + duplicates.Count + errors500 + died.Count > 0 ? 1 : 0;
    }

    /// <summary>
    /// Why the user counted as live at <paramref name="at"/>, or null: some device had an ack no older than its window
    /// (REST: the online window, hub: the stale-connection window, less a second), was not closed or signed off, and
    /// the ack came a second or more before the event. Redis-side faults (pause, out of memory) stretch the window by
    /// their overlap: the user could not beat through them and must not be punished for it.
    /// </summary>
    private string? Live(SimUser user, DateTimeOffset at, List<Fault> redisFaults)
    {
        lock (user.Gate)
        {
            foreach (var device in user.Devices)
            {
                if (device.Ended is { } ended && ended <= at + TimeSpan.FromSeconds(1))
                {
                    continue;
                }

                var window = (device.Hub ? settings.StaleConnection : settings.OnlineWindow) - TimeSpan.FromSeconds(1);
                foreach (var ack in device.Acks)
                {
                    if (ack > at - TimeSpan.FromSeconds(1))
                    {
                        break;
                    }

                    var excused = TimeSpan.FromTicks(redisFaults.Sum(f => Math.Max(0, (Min(f.Repaired, at) - Max(f.Start, ack)).Ticks)));
                    if (at - ack < window + excused)
                    {
                        return $"{(device.Hub ? "hub" : "REST")} device acked {(at - ack).TotalSeconds:0.0} s before, still open";
                    }
                }
            }
        }

        return null;
    }

    private static (int Failed, string After) Recovery(List<Outcome> outcomes, bool hub, DateTimeOffset from, DateTimeOffset to)
    {
        var window = outcomes.Where(o => o.Hub == hub && o.At >= from && o.At < to).OrderBy(o => o.At).ToList();
        var failed = window.Where(o => !o.Ok).ToList();
        if (failed.Count == 0)
        {
            return (0, "unaffected");
        }

        var lastFailure = failed[^1].At;
        var okAgain = window.FirstOrDefault(o => o.Ok && o.At > lastFailure);
        return (failed.Count, okAgain == default ? "not within window" : (okAgain.At - from).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture));
    }

    /// <summary>What a lost user's record holds: its last events and its devices' last acks, to tell why.</summary>
    private static string Story(SimUser user, List<PresenceEvent> events)
    {
        var last = events.Where(e => e.Id == user.Id).OrderBy(e => e.Ver).TakeLast(3).Select(e => $"{e.Status}/{e.Reason} {Stamp(e.At)} ver {e.Ver}");
        string acks;
        lock (user.Gate)
        {
            acks = string.Join(", ", user.Devices.Select(d => $"{(d.Hub ? "hub" : "rest")} last ack {(d.Acks.Count > 0 ? Stamp(d.Acks[^1]) : "none")}{(d.Ended is { } e ? " ended " + Stamp(e) : "")}"));
        }

        return $"events: {string.Join(" | ", last)}; devices: {acks}";
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static string Stamp(DateTimeOffset t) => t.ToString("HH:mm:ss.f", CultureInfo.InvariantCulture);
}
