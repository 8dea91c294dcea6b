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
internal static partial class Orchestrator
{
    private const int Connections = 32;

    /// <summary>The run's HS256 key: the services run as Production, which refuses the Development key.</summary>
    private static readonly string SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static async Task<int> RunAsync(bool quick)
    {
        await using var bench = await Bench.StartAsync(quick, quickRounds: 2);
        var (rounds, seconds, report, logs, redis) = (bench.Rounds, bench.Seconds, bench.Report, bench.Logs, bench.Redis);
        var baselineUrl = await bench.StartBaselinesAsync();
        var heartbeatUrl = await bench.StartServiceAsync("heartbeat-api", "Presence.HeartbeatApi", baselineUrl);
        var statusUrl = await bench.StartServiceAsync("status-query", "Presence.StatusQuery", baselineUrl);

        var store = new StoreClient(redis);
        // The baselines read the board file per request of (d), so it may be written after they started.
        var boardBytes = await CaptureBoardAsync(store, statusUrl, baselineUrl, bench.BoardFile, therapists: 1000);

        var (tokens, script) = await TokensAsync(logs);
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
        await AlternatingRoundsAsync(report, rounds, targets, t => t.Name, t => t.Method == "POST"
            ? Wrk.RunAsync(t.Url, Connections, seconds, script, t.Method, t.Path, tokens)
            : Wrk.RunAsync(t.Url, Connections, seconds));

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

    /// <summary>
    /// Only the REST heartbeat's two goal rows (allocations per heartbeat, req/s against the naive heartbeat), for
    /// working on the heartbeat pipeline without the rest of part 1: heartbeat-api, (c) and (b) in alternating rounds.
    /// </summary>
    public static async Task<int> RestAsync(bool quick)
    {
        await using var bench = await Bench.StartAsync(quick, quickRounds: 3);
        var (rounds, seconds, report, logs, redis) = (bench.Rounds, bench.Seconds, bench.Report, bench.Logs, bench.Redis);
        var baselineUrl = await bench.StartBaselinesAsync();
        var heartbeatUrl = await bench.StartServiceAsync("heartbeat-api", "Presence.HeartbeatApi", baselineUrl);
        var (tokens, script) = await TokensAsync(logs);
        report.Command($"wrk -t1 -c{Connections} -d{seconds}s --latency -s {Path.GetFileName(script)} URL -- POST PATH tokens.txt");
        await Wrk.RunAsync(heartbeatUrl + "/", Connections, 3, script, "POST", "/v1/community/heartbeat", tokens);
        await Wrk.RunAsync(baselineUrl + "/", Connections, 2, script, "POST", "/c", tokens);
        var targets = new (string Name, string Url, string Path)[]
        {
            ("heartbeat-api POST /v1/community/heartbeat", heartbeatUrl + "/", "/v1/community/heartbeat"),
            ("(c) naive heartbeat: JWT + one ZADD", baselineUrl + "/", "/c"),
            ("(b) empty POST behind JWT", baselineUrl + "/", "/b"),
        };
        await AlternatingRoundsAsync(report, rounds, targets, t => t.Name, t => Wrk.RunAsync(t.Url, Connections, seconds, script, "POST", t.Path, tokens));

        var perHeartbeat = await CommandsPerHeartbeatAsync(redis, heartbeatUrl, script, tokens);
        report.PrintRest(Console.Out, perHeartbeat);
        return 0;
    }

    /// <summary>
    /// What every mode of part 1 starts with: its rounds (the mode's own number in a quick run, else 5) and seconds
    /// per run, its report, the repository, the log folder, Redis, the child processes and their settings.
    /// </summary>
    private sealed class Bench : IAsyncDisposable
    {
        private readonly string _root;

        private Bench(bool quick, int quickRounds, string root, RedisServer redis)
        {
            Rounds = quick ? quickRounds : 5;
            Seconds = quick ? 5 : 15;
            Report = new Report(quick, Rounds, Seconds, Connections);
            _root = root;
            Logs = Directory.CreateDirectory(Path.Combine(root, ".artifacts", "bench")).FullName;
            Redis = redis;
            Env = ServiceEnvironment(redis);
        }

        public int Rounds { get; }

        public int Seconds { get; }

        public Report Report { get; }

        public string Logs { get; }

        /// <summary>The board status-query answered, which (d) sends back as fixed bytes.</summary>
        public string BoardFile => Path.Combine(Logs, "board.json");

        public RedisServer Redis { get; }

        public Processes Processes { get; } = new();

        public Dictionary<string, string> Env { get; }

        public static async Task<Bench> StartAsync(bool quick, int quickRounds)
        {
            var redis = new RedisServer();
            await redis.InitializeAsync();
            return new Bench(quick, quickRounds, FindRoot(), redis);
        }

        /// <summary>The baselines (also the OTLP sink the services export to), ready; returns their URL.</summary>
        public async Task<string> StartBaselinesAsync()
        {
            var url = StartBaselines(Processes, Env, BoardFile, Logs);
            await Processes.WaitReadyAsync(url, "/d", TimeSpan.FromSeconds(60));
            return url;
        }

        /// <summary>One service (its Release build), exporting telemetry to the baselines, ready; returns its URL.</summary>
        public async Task<string> StartServiceAsync(string folder, string assembly, string baselineUrl)
        {
            var url = StartService(Processes, _root, folder, assembly, ProductionTelemetry(Env, baselineUrl), Logs);
            await Processes.WaitReadyAsync(url, "/health/ready", TimeSpan.FromSeconds(60));
            return url;
        }

        public async ValueTask DisposeAsync()
        {
            await Processes.DisposeAsync();
            await Redis.DisposeAsync();
        }
    }

    /// <summary>
    /// The services' settings in every run: Production (no developer exception page) with a random signing key of this run, warnings only, and the heartbeat path measured rather
    /// than its 429s: the throttle still runs on every request (1 s guard), the per-user write limiter is lifted,
    /// and tokens rotate over more users than req/s.
    /// </summary>
    private static Dictionary<string, string> ServiceEnvironment(RedisServer redis) => new()
    {
        ["ConnectionStrings__redis"] = $"127.0.0.1:{redis.Port}",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Auth__SigningKey"] = SigningKey,
        ["Logging__LogLevel__Default"] = "Warning",
        ["Presence__MinHeartbeatInterval"] = "00:00:01",
        ["RateLimiting__Writes__PerMinute"] = "100000000",
        ["RateLimiting__Writes__Burst"] = "100000000",
    };

    /// <summary>
    /// Telemetry as production runs it (k8s/base): every metric and span on, heartbeat writes traced at k8s/base's
    /// ratio, 0.1 (docs/architecture.md, "Trace sampling of heartbeats"), exported over OTLP (here to the baselines' OTLP
    /// sink, which accepts and drops it), plus the Prometheus scrape that gives the service's own allocation counter
    /// (bytes allocated per heartbeat).
    /// </summary>
    /// <summary>k8s/base's share of heartbeat traces recorded; an A/B of the sampling sets the variable in the bench's own environment.</summary>
    internal static string HeartbeatTraceRatio => Environment.GetEnvironmentVariable("Telemetry__HeartbeatTraceRatio") ?? "0.1";

    private static Dictionary<string, string> ProductionTelemetry(Dictionary<string, string> env, string otlpSink) => new(env)
    {
        ["Telemetry__Prometheus"] = "true",
        ["Telemetry__HeartbeatTraceRatio"] = HeartbeatTraceRatio,
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpSink,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "15000",
    };

    private static string StartBaselines(Processes processes, Dictionary<string, string> env, string boardFile, string logs)
    {
        var baselineUrl = $"http://127.0.0.1:{FreePort()}";
        // A board file of an earlier run would be read by (d) before this run's is written.
        File.Delete(boardFile);
        processes.Start("dotnet", [typeof(Orchestrator).Assembly.Location, "baselines", "--urls", baselineUrl],
            // The baselines validate JWTs as a team would with plain JwtBearer: without the services' validated-token cache.
            new Dictionary<string, string>(env) { ["Board__File"] = boardFile, ["Auth__TokenCache__Capacity"] = "0" }, Path.Combine(logs, "baselines.log"));
        return baselineUrl;
    }

    private static string Token(string user) => DevTokens.Mint("community", user, signingKey: SigningKey);

    /// <summary>50k pre-minted tokens of distinct users, and the wrk script that rotates them.</summary>
    private static async Task<(string Tokens, string Script)> TokensAsync(string logs)
    {
        var tokens = Path.Combine(logs, "tokens.txt");
        await File.WriteAllLinesAsync(tokens, Enumerable.Range(0, 50_000).Select(i => Token("bench-" + i)));
        return (tokens, Path.Combine(AppContext.BaseDirectory, "wrk", "rotate-tokens.lua"));
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

    /// <summary>
    /// Lists <paramref name="therapists"/> online, saves the board status-query answers as (d)'s bytes, and checks that
    /// (d) now sends that many: a board compared with other bytes would make the ratio meaningless.
    /// </summary>
    private static async Task<int> CaptureBoardAsync(StoreClient store, string statusUrl, string baselineUrl, string file, int therapists)
    {
        await store.OnlineTherapistsAsync(therapists, "board-");
        using var http = new HttpClient();
        var bytes = await http.GetByteArrayAsync(statusUrl + "/v1/therapists/status/realtime");
        await File.WriteAllBytesAsync(file, bytes);
        var fixedBytes = (await http.GetByteArrayAsync(baselineUrl + "/d")).Length;
        if (fixedBytes != bytes.Length)
        {
            throw new InvalidOperationException($"(d) answers {fixedBytes} B, the board {bytes.Length} B: the comparison would not be fair.");
        }

        return bytes.Length;
    }

    /// <summary>Alternating rounds (the order reversed every round, so neither target always runs on a warmer machine); each result reported.</summary>
    private static async Task AlternatingRoundsAsync<T>(Report report, int rounds, IReadOnlyList<T> targets, Func<T, string> name, Func<T, Task<WrkResult>> run)
    {
        for (var round = 0; round < rounds; round++)
        {
            foreach (var t in round % 2 == 0 ? targets : targets.Reverse())
            {
                var result = await run(t);
                report.Add(name(t), result);
                Console.Error.WriteLine($"  round {round + 1}/{rounds} {name(t)}: {result.RequestsPerSecond:F0} req/s p99 {result.P99Ms:F2} ms");
            }
        }
    }

    private static async Task<(double Commands, double RoundTrips, double AllocatedBytes)> CommandsPerHeartbeatAsync(RedisServer redis, string url, string script, string tokens)
    {
        var server = redis.Client.GetServer(redis.Client.GetEndPoints()[0]);
        var before = await CommandStatsAsync(server);
        var allocatedBefore = await AllocatedBytesAsync(url);
        var cpuBefore = await CpuSecondsAsync(url);
        var run = await Wrk.RunAsync(url + "/", 8, 3, script, "POST", "/v1/community/heartbeat", tokens);
        var cpuAfter = await CpuSecondsAsync(url);
        var allocatedAfter = await AllocatedBytesAsync(url);
        // CPU time is steadier than req/s on a shared machine: a context line for before/after rows, not a goal row.
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  heartbeat-api: {(cpuAfter - cpuBefore) * 1e6 / run.Requests:F1} us CPU per heartbeat (user + system, all threads, {run.Requests} requests)"));
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

    /// <summary>The service's CPU time so far (user + system, all threads), from its Prometheus scrape of the runtime metrics.</summary>
    private static async Task<double> CpuSecondsAsync(string url)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(url + "/metrics");
        return text.Split('\n')
            .Where(line => line.StartsWith("dotnet_process_cpu_time_seconds", StringComparison.Ordinal))
            .Sum(line => double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));
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
            request.Headers.Authorization = new("Bearer", Token("outage-" + n++));
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
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Presence.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Presence.slnx not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
