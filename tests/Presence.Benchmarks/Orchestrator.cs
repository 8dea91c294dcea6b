using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Benchmarks;

/// <summary>
/// One run, one machine: Redis, the services (Release) and the baselines side by side, driven by wrk on
/// loopback, A/B alternated, medians and ratios printed with the machine and the exact commands.
/// </summary>
internal static class Orchestrator
{
    private const int Connections = 32;

    public static async Task<int> RunAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var seconds = quick ? 5 : 15;
        var root = FindRoot();
        var logs = Directory.CreateDirectory(Path.Combine(root, ".artifacts", "bench")).FullName;
        var report = new Report(quick, rounds, seconds, Connections);

        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        await using var processes = new Processes();
        var env = new Dictionary<string, string>
        {
            ["ConnectionStrings__redis"] = $"127.0.0.1:{redis.Port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Logging__LogLevel__Default"] = "Warning",
            // Measure the store path, not rejections: the throttle still runs on every request (1 s guard),
            // and the per-user write limiter is lifted; tokens rotate over more users than req/s.
            ["Presence__MinHeartbeatInterval"] = "00:00:01",
            ["RateLimiting__Writes__PerMinute"] = "100000000",
            ["RateLimiting__Writes__Burst"] = "100000000",
        };
        // The scrape endpoint gives the service's own allocation counter (bytes allocated per heartbeat).
        var heartbeatEnv = new Dictionary<string, string>(env) { ["Telemetry__Prometheus"] = "true" };

        var heartbeatUrl = StartService(processes, root, "heartbeat-api", "Presence.HeartbeatApi", heartbeatEnv, logs);
        var statusUrl = StartService(processes, root, "status-query", "Presence.StatusQuery", env, logs);
        await Processes.WaitReadyAsync(heartbeatUrl, "/health/ready", TimeSpan.FromSeconds(60));
        await Processes.WaitReadyAsync(statusUrl, "/health/ready", TimeSpan.FromSeconds(60));

        var store = new StoreClient(redis);
        var boardFile = Path.Combine(logs, "board.json");
        var boardBytes = await CaptureBoardAsync(store, statusUrl, boardFile, therapists: 1000);

        var baselineUrl = $"http://127.0.0.1:{FreePort()}";
        var benchDll = typeof(Orchestrator).Assembly.Location;
        processes.Start("dotnet", [benchDll, "baselines", "--urls", baselineUrl],
            new Dictionary<string, string>(env) { ["Board__File"] = boardFile }, Path.Combine(logs, "baselines.log"));
        await Processes.WaitReadyAsync(baselineUrl, "/d", TimeSpan.FromSeconds(60));

        var tokens = Path.Combine(logs, "tokens.txt");
        await File.WriteAllLinesAsync(tokens, Enumerable.Range(0, 50_000).Select(i => DevTokens.Community("bench-" + i)));
        var script = Path.Combine(AppContext.BaseDirectory, "wrk", "rotate-tokens.lua");
        report.Command($"wrk -t1 -c{Connections} -d{seconds}s --latency -s {Path.GetFileName(script)} URL -- POST PATH tokens.txt");

        // Warm-up: JIT, connection pools, script cache.
        await Wrk.RunAsync(heartbeatUrl + "/", Connections, 3, script, "POST", "/v1/community/heartbeat", tokens);
        await Wrk.RunAsync(baselineUrl + "/", Connections, 2, script, "POST", "/c", tokens);
        await Wrk.RunAsync(statusUrl + "/v1/therapists/status/realtime", Connections, 2);
        await Wrk.RunAsync(baselineUrl + "/d", Connections, 2);

        var targets = new (string Name, string Url, string Method, string Path)[]
        {
            ("heartbeat-api POST /v1/community/heartbeat", heartbeatUrl + "/", "POST", "/v1/community/heartbeat"),
            ("(c) naive heartbeat: JWT + one ZADD", baselineUrl + "/", "POST", "/c"),
            ("(b) empty POST behind JWT", baselineUrl + "/", "POST", "/b"),
            ("(a) empty POST", baselineUrl + "/", "POST", "/a"),
            ("status-query GET board (1k therapists)", statusUrl + "/v1/therapists/status/realtime", "GET", ""),
            ("(d) fixed JSON of the board's size", baselineUrl + "/d", "GET", ""),
        };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var t in round % 2 == 0 ? targets : targets.Reverse())
            {
                var result = t.Method == "POST"
                    ? await Wrk.RunAsync(t.Url, Connections, seconds, script, t.Method, t.Path, tokens)
                    : await Wrk.RunAsync(t.Url, Connections, seconds);
                report.Add(t.Name, result);
                Console.Error.WriteLine($"  round {round + 1}/{rounds} {t.Name}: {result.RequestsPerSecond:F0} req/s p99 {result.P99Ms:F2} ms");
            }
        }

        var perHeartbeat = await CommandsPerHeartbeatAsync(redis, heartbeatUrl, script, tokens);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  heartbeat-api: {perHeartbeat.AllocatedBytes:F0} B allocated per heartbeat, {perHeartbeat.Commands:F2} Redis commands"));
        var cost = await new StoreClient(redis, new Dictionary<string, string?> { ["Presence:MinHeartbeatInterval"] = "00:00:00.010" })
            .HeartbeatCostAsync(users: quick ? 5_000 : 20_000, rounds: 5);
        report.HeartbeatCost(cost.ScriptUsec, cost.ZaddUsec, cost.AllocatedBytes);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  heartbeat scripts {cost.ScriptUsec:F2} us per heartbeat vs ZADD {cost.ZaddUsec:F2} us/call; store client {cost.AllocatedBytes:F0} B per heartbeat"));
        var rebuild10k = await store.BoardRebuildMsAsync(10_000);
        var rebuild100k = await store.BoardRebuildMsAsync(100_000);
        var memory = await store.MemoryPerUserAsync(100_000);
        var outage = await FirstHeartbeatAfterOutageAsync(redis, heartbeatUrl);
        report.Outage(outage);

        report.Print(Console.Out, boardBytes, perHeartbeat, (rebuild10k, rebuild100k), memory);
        return 0;
    }

    private static string StartService(Processes processes, string root, string folder, string assembly, Dictionary<string, string> env, string logs)
    {
        var dll = Path.Combine(root, "services", folder, "bin", "Release", "net10.0", assembly + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build Release first (./dev.sh bench does).");
        }

        var url = $"http://127.0.0.1:{FreePort()}";
        processes.Start("dotnet", [dll], new Dictionary<string, string>(env) { ["ASPNETCORE_URLS"] = url }, Path.Combine(logs, folder + ".log"));
        return url;
    }

    private static async Task<int> CaptureBoardAsync(StoreClient store, string statusUrl, string file, int therapists)
    {
        await store.OnlineTherapistsAsync(therapists, "board-");
        using var http = new HttpClient();
        var bytes = await http.GetByteArrayAsync(statusUrl + "/v1/therapists/status/realtime");
        await File.WriteAllBytesAsync(file, bytes);
        return bytes.Length;
    }

    private static async Task<(double Commands, double RoundTrips, double AllocatedBytes)> CommandsPerHeartbeatAsync(RedisServer redis, string url, string script, string tokens)
    {
        var server = redis.Client.GetServer(redis.Client.GetEndPoints()[0]);
        var before = await CommandStatsAsync(server);
        var allocatedBefore = await AllocatedBytesAsync(url);
        var run = await Wrk.RunAsync(url + "/", 8, 3, script, "POST", "/v1/community/heartbeat", tokens);
        var allocatedAfter = await AllocatedBytesAsync(url);
        var after = await CommandStatsAsync(server);
        var delta = after.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
        // Commands a script runs are counted too; the round trips are the top-level calls (EVALSHA/EVAL).
        var roundTrips = delta.GetValueOrDefault("evalsha") + delta.GetValueOrDefault("eval");
        var commands = delta.Where(kv => kv.Key is not ("info" or "ping" or "echo" or "cluster" or "client")).Sum(kv => kv.Value);
        var accepted = run.Requests - run.Non2xx;
        return ((double)commands / accepted, (double)roundTrips / accepted, (allocatedAfter - allocatedBefore) / (double)run.Requests);
    }

    /// <summary>The service's bytes allocated so far (all threads), from its Prometheus scrape of the runtime metrics.</summary>
    private static async Task<double> AllocatedBytesAsync(string url)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(url + "/metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes", StringComparison.Ordinal)
                || line.StartsWith("process_runtime_dotnet_gc_allocations_size_bytes", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("No allocation counter in the service's /metrics.");
    }

    /// <summary>
    /// Redis is killed, the service answers 503s for a while, Redis starts again on the same port: the time from the
    /// restart until the first heartbeat answered 200 (one heartbeat every 50 ms, a fresh user each, as clients retry).
    /// </summary>
    private static async Task<double> FirstHeartbeatAfterOutageAsync(RedisServer redis, string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var n = 0;
        async Task<HttpStatusCode> BeatAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url + "/v1/community/heartbeat");
            request.Headers.Authorization = new("Bearer", DevTokens.Community("outage-" + n++));
            try
            {
                using var response = await http.SendAsync(request);
                return response.StatusCode;
            }
            catch (HttpRequestException)
            {
                return 0;
            }
            catch (TaskCanceledException)
            {
                return 0;
            }
        }

        await redis.StopAsync();
        var down = System.Diagnostics.Stopwatch.StartNew();
        while (down.Elapsed < TimeSpan.FromSeconds(10))
        {
            // Long enough for the breaker to open and the multiplexer to back off.
            await BeatAsync();
            await Task.Delay(50);
        }

        var back = System.Diagnostics.Stopwatch.StartNew();
        await redis.StartAsync();
        while (back.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (await BeatAsync() == HttpStatusCode.OK)
            {
                return back.Elapsed.TotalMilliseconds;
            }

            await Task.Delay(50);
        }

        return double.PositiveInfinity;
    }

    private static async Task<Dictionary<string, long>> CommandStatsAsync(IServer server)
    {
        var info = await server.InfoAsync("commandstats");
        return info.SelectMany(g => g).ToDictionary(
            kv => kv.Key.Replace("cmdstat_", "", StringComparison.Ordinal),
            kv => long.Parse(kv.Value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture));
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Presence.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Presence.sln not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
