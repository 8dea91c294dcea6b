// Offline-detection benchmark of the janitor (docs/benchmarks.md, part 3; not a test). Starts its own redis-server
// and the real janitor host (its Release build, as a child process), loads N online users through the real heartbeat
// script, lets every one of them lapse, and reports:
//   - the delay from each user's online-until to its 'recent' event (the event's stream id is Redis's clock),
//   - the longest single command the janitor sent meanwhile, from SLOWLOG (every command over 20 µs, this
//     benchmark's own server only), filtered by the janitor's client name, and the Redis CPU per script call
//     (INFO commandstats) over the same span.
// Usage: dotnet run -c Release --project bench/Presence.JanitorBenchmark -- [users=100000] [onlineSeconds=20]
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

var usersArgument = new Argument<int>("users") { Description = "Online users loaded; all of them lapse.", DefaultValueFactory = _ => 100_000 };
var onlineArgument = new Argument<int>("onlineSeconds") { Description = "Their online window, in seconds.", DefaultValueFactory = _ => 20 };
var janitorOption = new Option<string?>("--janitor-assembly") { Description = "Another build of Presence.Janitor.dll to measure (an A/B run against an older commit); default: this tree's Release build." };
var command = new RootCommand("The janitor's offline-detection delay and its longest Redis command.") { usersArgument, onlineArgument, janitorOption };
command.SetAction((parse, _) => RunAsync(parse.GetValue(usersArgument), parse.GetValue(onlineArgument), parse.GetValue(janitorOption)));
return await command.Parse(args).InvokeAsync();

static async Task<int> RunAsync(int users, int onlineSeconds, string? janitorAssembly)
{
    var port = ServiceProcess.FreePort();
    var dir = Directory.CreateTempSubdirectory("presence-bench-").FullName;
    var settings = new Dictionary<string, string?>
    {
        ["Presence:KeyPrefix"] = "bench",
        ["Presence:OnlineWindow"] = TimeSpan.FromSeconds(onlineSeconds).ToString("c", CultureInfo.InvariantCulture),
        // The users are loaded as hub sessions, which live for the stale-connection time (docs/architecture.md, "Sessions").
        ["Presence:StaleConnection"] = TimeSpan.FromSeconds(onlineSeconds).ToString("c", CultureInfo.InvariantCulture),
        ["Presence:HeartbeatInterval"] = TimeSpan.FromSeconds(onlineSeconds / 2.0).ToString("c", CultureInfo.InvariantCulture),
        ["Presence:MinHeartbeatInterval"] = TimeSpan.FromSeconds(onlineSeconds / 4.0).ToString("c", CultureInfo.InvariantCulture),
        // Room for every online and recent event, so none is trimmed before it is measured.
        ["Presence:EventStreamMaxLength"] = (users * 3).ToString(CultureInfo.InvariantCulture),
        ["ConnectionStrings:redis"] = $"127.0.0.1:{port},abortConnect=false",
    };

    await using var redisProcess = new ServiceProcess("redis-server", "redis-server",
        ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--notify-keyspace-events", "Ex", "--dir", dir],
        new Dictionary<string, string>());
    redisProcess.Start();
    ServiceProcess? janitor = null;
    try
    {
        // A long timeout: SLOWLOG of every command at 100k users is a reply of some 170 MB.
        await using var admin = await ConnectWhenUpAsync($"127.0.0.1:{port},allowAdmin=true,asyncTimeout=120000,syncTimeout=120000");
        var server = admin.GetServer("127.0.0.1", port);
        var db = admin.GetDatabase();

        // The Release build (./dev.sh bench builds it) in Production settings, as deployed; the janitor serves no
        // authenticated endpoint, but the defaults want a real key.
        var env = settings.ToDictionary(kv => kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value!);
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        env["Auth__SigningKey"] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        janitor = ServiceProcess.Dotnet("janitor", janitorAssembly ?? ServiceProcess.ServiceAssembly("janitor", "Presence.Janitor", "Release"), env);
        Console.WriteLine($"redis-server on {port}; starting the janitor ({janitor.Arguments[0]})...");
        janitor.Start();
        var lease = (RedisKey)"bench:janitor:lease";
        var started = Stopwatch.StartNew();
        while (!await db.KeyExistsAsync(lease))
        {
            if (started.Elapsed > TimeSpan.FromMinutes(5) || !janitor.IsRunning)
            {
                throw new InvalidOperationException("The janitor did not take the lease. Its last output:\n" + janitor.Output);
            }

            await Task.Delay(200);
        }

        Console.WriteLine($"janitor leads after {started.Elapsed.TotalSeconds:F1} s; loading {users} online users...");
        var services = new ServiceCollection();
        // The loader is not what is measured: it may wait longer for Redis than a service would.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings)
            .AddInMemoryCollection([new("Redis:Resilience:Timeout", "00:00:10")]).Build();
        services.AddLogging().AddMetrics().AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(settings["ConnectionStrings:redis"]!));
        services.AddPresenceCore(configuration);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<PresenceStore>();
        var keys = provider.GetRequiredService<PresenceKeys>();
        var window = TimeSpan.FromSeconds(onlineSeconds);
        var onlineUntil = new Dictionary<string, long>(users);
        var load = Stopwatch.StartNew();
        const int chunk = 500;
        for (var from = 0; from < users; from += chunk)
        {
            var ids = Enumerable.Range(from, Math.Min(chunk, users - from)).Select(i => "u" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            var results = await Task.WhenAll(ids.Select(id => store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, id, HeartbeatTransport.Hub))));
            for (var i = 0; i < ids.Length; i++)
            {
                onlineUntil[ids[i]] = (results[i].ServerTime + window).ToUnixTimeMilliseconds();
            }
        }

        Console.WriteLine($"loaded in {load.Elapsed.TotalSeconds:F1} s; heartbeats stop now; measuring the sweep...");
        // Over 20 µs only: the commands a script calls are logged too (client name ''), ten per settle, and would push
        // the janitor's own out of the log; none of them is near the 5 ms goal.
        await server.ExecuteAsync("CONFIG", "SET", "slowlog-max-len", "1000000");
        await server.ExecuteAsync("CONFIG", "SET", "slowlog-log-slower-than", "20");
        await server.ExecuteAsync("SLOWLOG", "RESET");
        await server.ExecuteAsync("CONFIG", "RESETSTAT");

        var deadline = Stopwatch.StartNew();
        while ((await Task.WhenAll(keys.AllShards.Select(s => db.SortedSetLengthAsync(keys.Online(PresenceRole.Community, s))))).Sum() > 0)
        {
            if (deadline.Elapsed > window + TimeSpan.FromMinutes(3))
            {
                throw new InvalidOperationException("Users were still online long after their window.");
            }

            await Task.Delay(500);
        }

        await server.ExecuteAsync("CONFIG", "SET", "slowlog-log-slower-than", "-1");
        var slowlog = (RedisResult[])(await server.ExecuteAsync("SLOWLOG", "GET", "-1"))!;
        var commandStats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);

        // Delays in ms, 3 significant digits, up to an hour; a negative one (clock rounding) counts as 0.
        var delays = new LongHistogram(3_600_000, 3);
        long minDelay = long.MaxValue;
        foreach (var events in keys.EventStreams(PresenceRole.Community))
        {
        var position = "-";
        while (true)
        {
            var batch = await db.StreamRangeAsync(events, position, "+", 10_000);
            var fresh = position == "-" ? batch : batch.Skip(1).ToArray();
            if (fresh.Length == 0)
            {
                break;
            }

            foreach (var e in fresh.Where(e => e["status"] == "recent"))
            {
                var at = long.Parse(e.Id.ToString().Split('-')[0], CultureInfo.InvariantCulture);
                var delay = at - onlineUntil[e["id"].ToString()];
                minDelay = Math.Min(minDelay, delay);
                delays.RecordValue(Math.Max(0, delay));
            }

            position = batch[^1].Id!;
        }
        }

        var p99 = delays.GetValueAtPercentile(99);
        Console.WriteLine($"recent events: {delays.TotalCount} of {users} users");
        Console.WriteLine($"offline-detection delay past online-until (ms): p50 {delays.GetValueAtPercentile(50)}, p90 {delays.GetValueAtPercentile(90)}, p99 {p99}, max {delays.GetMaxValue()}, min {minDelay}");
        Presence.Benchmarks.BenchRows.Write(Console.Out, $"janitor: offline-detection delay p99 at {users} users", string.Create(CultureInfo.InvariantCulture, $"{p99 / 1000.0:F2} s"), "<= 1 s", p99 <= 1000);

        // SLOWLOG entry: id, timestamp, duration (µs), [command args], client addr, client name.
        var scriptNames = new[] { "presence", "janitor-retention-trim", "janitor-user-expired", "janitor-lease", "janitor-lease-release" }
            .ToDictionary(n => Convert.ToHexStringLower(RedisScript.FromResource(n).Sha1), n => n);
        var janitorCommands = slowlog.Select(entry => (RedisResult[])entry!)
            .Where(entry => entry.Length >= 6 && entry[5].ToString().StartsWith("Presence.Janitor", StringComparison.Ordinal))
            .Select(entry =>
            {
                var argv = ((RedisResult[])entry[3]!).Select(a => a.ToString()).ToArray();
                var name = argv[0] is "EVALSHA" or "evalsha" && scriptNames.TryGetValue(argv[1], out var script) ? "EVALSHA " + script : argv[0];
                return (Micros: (long)entry[2], Name: name, Command: string.Join(' ', argv.Take(4).Select(Shorten)));
            })
            .ToList();
        Console.WriteLine($"janitor commands in SLOWLOG: {janitorCommands.Count} (slowlog entries in all: {slowlog.Length}; by client: "
            + string.Join(", ", slowlog.Select(entry => (RedisResult[])entry!).GroupBy(entry => entry.Length >= 6 ? entry[5].ToString() : "?")
                .OrderByDescending(g => g.Count()).Take(4).Select(g => $"'{g.Key}' {g.Count()} (mostly {g.GroupBy(e => ((RedisResult[])e[3]!)[0].ToString()).MaxBy(c => c.Count())!.Key})"))
            + ")");
        var longest = janitorCommands.Count == 0 ? 0 : janitorCommands.Max(c => c.Micros) / 1000.0;
        Presence.Benchmarks.BenchRows.Write(Console.Out, "janitor: longest sweep command", string.Create(CultureInfo.InvariantCulture, $"{longest:F2} ms"), "<= 5 ms", longest <= 5);
        // cmdstat_evalsha:calls=N,usec=N,usec_per_call=N.NN,... (every client; the janitor's settles are nearly all of it).
        foreach (var stat in new[] { "cmdstat_evalsha", "cmdstat_zrangebyscore", "cmdstat_zrange" })
        {
            if (commandStats.TryGetValue(stat, out var line))
            {
                Console.WriteLine($"  Redis CPU, {stat[8..]}: {line}");
            }
        }

        Console.WriteLine("  janitor commands over 20 µs:");
        foreach (var group in janitorCommands.GroupBy(c => c.Name).OrderByDescending(g => g.Max(c => c.Micros)))
        {
            var sorted = group.Select(c => c.Micros / 1000.0).Order().ToArray();
            Console.WriteLine($"  {group.Key}: n {sorted.Length}, p50 {sorted[sorted.Length / 2]:F3} ms, p99 {sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))]:F3} ms, max {sorted[^1]:F3} ms");
        }
    }
    finally
    {
        if (janitor is not null)
        {
            await janitor.DisposeAsync();
        }

        redisProcess.Kill();
        Directory.Delete(dir, recursive: true);
    }

    return 0;
}

static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;

static async Task<ConnectionMultiplexer> ConnectWhenUpAsync(string configuration)
{
    var deadline = Stopwatch.StartNew();
    while (true)
    {
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(configuration + ",abortConnect=true");
        }
        catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
    }
}
