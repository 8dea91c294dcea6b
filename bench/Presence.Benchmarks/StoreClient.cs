using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Benchmarks;

/// <summary>The shared store, in process, to load the bench's Redis as the services would.</summary>
internal sealed class StoreClient
{
    private readonly RedisServer _redis;
    private readonly PresenceStore _store;
    private readonly PresenceReader _reader;

    public StoreClient(RedisServer redis, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _redis = redis;
        // Presence__* from the environment (e.g. Presence__Shards), then the caller's settings.
        var provider = CoreProvider(redis, c => c.AddEnvironmentVariables().AddInMemoryCollection(settings ?? new Dictionary<string, string?>()));
        _store = provider.GetRequiredService<PresenceStore>();
        _reader = provider.GetRequiredService<PresenceReader>();
    }

    /// <summary>
    /// Presence.Core in process against <paramref name="redis"/>, wired as the services wire it. A bench measures, so
    /// reads get a long timeout (a 100k board read is close to the 500 ms default on a loaded machine: a slow read is a
    /// figure, not a 503); <paramref name="configure"/> adds settings after that.
    /// </summary>
    public static ServiceProvider CoreProvider(IRedisBackend redis, Action<IConfigurationBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Redis:Resilience:Timeout"] = "00:00:30" });
        configure?.Invoke(configuration);
        services.AddPresenceCore(configuration.Build());
        return services.BuildServiceProvider();
    }

    public Task OnlineTherapistsAsync(int count, string idPrefix) => HeartbeatsAsync(PresenceRole.Therapist, count, idPrefix);

    /// <summary>Redis <c>used_memory</c> growth per tracked user (user hash + lastseen + online entries), over <paramref name="users"/>.</summary>
    public async Task<double> MemoryPerUserAsync(int users)
    {
        var server = _redis.Client.GetServer(_redis.Client.GetEndPoints()[0]);
        await server.FlushAllDatabasesAsync();
        var before = await UsedMemoryAsync(server);
        await HeartbeatsAsync(PresenceRole.Community, users, "mem-");
        var after = await UsedMemoryAsync(server);
        return (double)(after - before) / users;
    }

    /// <summary>
    /// Median time of one board read (the Redis reads plus assembling the ordered entries) with
    /// <paramref name="tracked"/> therapists on the board, over 15 reads after at least 40 warm-ups and 3 s (past
    /// tiered JIT's 30-call threshold: status-query rebuilds every 2 s, so its reader runs fully optimised within a minute).
    /// </summary>
    public async Task<double> BoardRebuildMsAsync(int tracked) => (await BoardRebuildAsync(tracked)).MedianMs;

    /// <summary>
    /// <see cref="BoardRebuildMsAsync"/>, with the CPU each timed read cost: this process's (the reader: parsing,
    /// merging, sorting; all threads) and Redis's (<c>used_cpu_user + used_cpu_sys</c>), means over the timed reads.
    /// On a loaded machine the wall time includes waiting for a core; these two do not. Also the bytes this process
    /// allocated per timed read (all threads: StackExchange.Redis's replies and the reader's board), stable under load.
    /// </summary>
    public async Task<(double MedianMs, double ClientCpuMs, double RedisCpuMs, string RedisCommands, double AllocatedBytes)> BoardRebuildAsync(int tracked)
    {
        var server = _redis.Client.GetServer(_redis.Client.GetEndPoints()[0]);
        await server.FlushAllDatabasesAsync();
        await HeartbeatsAsync(PresenceRole.Therapist, tracked, "rebuild-");
        await server.ExecuteAsync("CONFIG", "RESETSTAT");
        // Warm-ups: at least 40 reads and 3 s (tiered JIT promotes a method after 30 calls, in the background, once
        // no new tier-0 code appeared for a while; status-query rebuilds every 2 s for its whole life).
        const int Reads = 15;
        var warmUps = 0;
        var warming = System.Diagnostics.Stopwatch.StartNew();
        while (warmUps < 40 || warming.Elapsed < TimeSpan.FromSeconds(3))
        {
            await _reader.GetBoardAsync(PresenceRole.Therapist);
            warmUps++;
        }

        var times = new List<double>();
        TimeSpan clientCpu = default;
        double redisCpu = 0;
        long allocated = 0;
        for (var i = 0; i < Reads; i++)
        {
            var redisBefore = await RedisCpuSecondsAsync(server);
            var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var board = await _reader.GetBoardAsync(PresenceRole.Therapist);
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            allocated += GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var cpuAfter = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            if (board.Entries.Count != tracked)
            {
                throw new InvalidOperationException($"The board holds {board.Entries.Count} therapists, expected {tracked}.");
            }

            times.Add(elapsed);
            clientCpu += cpuAfter - cpuBefore;
            redisCpu += await RedisCpuSecondsAsync(server) - redisBefore;
        }

        times.Sort();
        // Where Redis spends it: each command's total usec per board read (warm-ups included in both).
        var commands = string.Join(", ", (await CommandStatsAsync(server))
            .Where(c => c.Key is not ("info" or "config|resetstat" or "config"))
            .OrderByDescending(c => c.Value.Usec)
            .Select(c => System.FormattableString.Invariant($"{c.Key} {c.Value.Usec / 1000.0 / (warmUps + Reads):F1} ms")));
        return (times[times.Count / 2], clientCpu.TotalMilliseconds / Reads, redisCpu * 1000 / Reads, commands, (double)allocated / Reads);
    }

    private static async Task<double> RedisCpuSecondsAsync(IServer server)
    {
        var info = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
        return double.Parse(info["used_cpu_user"], System.Globalization.CultureInfo.InvariantCulture)
            + double.Parse(info["used_cpu_sys"], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Redis CPU of the steady-state REST heartbeat against a plain <c>ZADD</c>, both from <c>INFO commandstats</c>
    /// (the scripts' <c>usec</c> delta over the heartbeats sent; the <c>ZADD</c>'s over its calls), medians of alternating
    /// rounds in the same run, and the bytes this process allocates per store
    /// heartbeat (client side: argument and key arrays, StackExchange.Redis, the resilience pipeline, metrics).
    /// Every user is online already (the came-online beat is the rare case); the store's min interval must be
    /// below the time between two rounds.
    /// </summary>
    public async Task<(double ScriptUsec, double ZaddUsec, double AllocatedBytes, int Accepted)> HeartbeatCostAsync(int users, int rounds)
    {
        var server = _redis.Client.GetServer(_redis.Client.GetEndPoints()[0]);
        await server.FlushAllDatabasesAsync();
        const int Parallel = 64;
        async Task<int> BeatAllAsync()
        {
            var accepted = 0;
            for (var start = 0; start < users; start += Parallel)
            {
                var results = await Task.WhenAll(Enumerable.Range(start, Math.Min(Parallel, users - start))
                    .Select(i => _store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "cost-" + i, HeartbeatTransport.Rest))));
                accepted += results.Count(r => r.Accepted);
            }

            return accepted;
        }

        await BeatAllAsync(); // came online
        await Task.Delay(50);
        await BeatAllAsync(); // warm-up of the steady state (JIT, pools)
        // Rounds of heartbeats and rounds of plain ZADDs alternate, and the medians are compared, so both see the same
        // load: on a shared machine a longer script is preempted more often, and a load swing would land on one side.
        var db = _redis.Client.GetDatabase();
        var scriptRounds = new List<double>();
        var zaddRounds = new List<double>();
        long allocated = 0;
        var accepted = 0;
        for (var r = 0; r < rounds; r++)
        {
            await Task.Delay(50);
            var before = await CommandStatsAsync(server);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            accepted += await BeatAllAsync();
            allocated += GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var after = await CommandStatsAsync(server);
            // Per heartbeat, not per call: a heartbeat that changes state makes a second call (the full script); both count.
            scriptRounds.Add((Delta(before, after, "evalsha").Usec + Delta(before, after, "eval").Usec) / (double)users);

            // Scripts count their inner commands too, so the plain ZADD gets windows of its own.
            before = after;
            for (var start = 0; start < users; start += Parallel)
            {
                await Task.WhenAll(Enumerable.Range(start, Math.Min(Parallel, users - start))
                    .Select(i => db.SortedSetAddAsync("zadd-baseline", "cost-" + i, r)));
            }

            after = await CommandStatsAsync(server);
            var zadds = Delta(before, after, "zadd");
            zaddRounds.Add(zadds.Usec / (double)Math.Max(1, zadds.Calls));
        }

        var script = Median(scriptRounds);
        var zadd = Median(zaddRounds);
        return (script, zadd, (double)allocated / Math.Max(1, accepted), accepted);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static (long Calls, long Usec) Delta(Dictionary<string, (long Calls, long Usec)> before, Dictionary<string, (long Calls, long Usec)> after, string command)
    {
        var b = before.GetValueOrDefault(command);
        var a = after.GetValueOrDefault(command);
        return (a.Calls - b.Calls, a.Usec - b.Usec);
    }

    private static async Task<Dictionary<string, (long Calls, long Usec)>> CommandStatsAsync(IServer server)
    {
        var info = await server.InfoAsync("commandstats");
        return info.SelectMany(g => g).ToDictionary(
            kv => kv.Key.Replace("cmdstat_", "", StringComparison.Ordinal),
            kv =>
            {
                var fields = kv.Value.Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
                return (long.Parse(fields["calls"], System.Globalization.CultureInfo.InvariantCulture), long.Parse(fields["usec"], System.Globalization.CultureInfo.InvariantCulture));
            });
    }

    private async Task HeartbeatsAsync(PresenceRole role, int count, string idPrefix)
    {
        // Hub transport: no throttle key, so what remains is the steady state of a tracked user.
        const int Parallel = 64;
        for (var start = 0; start < count; start += Parallel)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(Parallel, count - start))
                .Select(i => _store.HeartbeatAsync(new Heartbeat(role, idPrefix + i, HeartbeatTransport.Hub))));
        }
    }

    private static async Task<long> UsedMemoryAsync(IServer server)
    {
        var info = await server.InfoAsync("memory");
        return long.Parse(info.SelectMany(g => g).First(kv => kv.Key == "used_memory").Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
