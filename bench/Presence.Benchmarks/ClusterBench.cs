using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Benchmarks;

/// <summary>
/// The sharded keyspace on 1 primary versus 3 (docs/benchmarks.md, "Sharding: 1 primary vs 3"), side by side in one
/// run: heartbeat throughput through <see cref="PresenceStore"/> and Redis CPU per heartbeat (INFO cpu over every
/// primary) in alternating rounds; the share of each role's users and memory on each primary; the board rebuild over
/// the shards. Figures only: nothing here asserts a time.
/// </summary>
internal static class ClusterBench
{
    public static async Task<int> RunAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var seconds = quick ? 5 : 15;
        var users = quick ? 20_000 : 100_000;
        var rebuildTherapists = 100_000;
        const int Workers = 64;
        Console.WriteLine($"sharding: {PresenceOptions.DefaultShards} shards per role; {Workers} concurrent hub heartbeats over {users} users per role; " +
            $"{rounds} A/B rounds x {seconds} s; load tool pid {Environment.ProcessId}, affinity {AffinityText()}");

        await using var single = new RedisServer();
        await single.InitializeAsync();
        await using var cluster = new RedisCluster();
        await cluster.InitializeAsync();
        var backends = new (string Name, IRedisBackend Redis, Bench Bench)[]
        {
            ("1 primary", single, new Bench(single)),
            ("3 primaries", cluster, new Bench(cluster)),
        };

        // Warm-up: JIT, connections, script cache on every node.
        foreach (var b in backends)
        {
            await b.Bench.HeartbeatsAsync(PresenceRole.Community, 5_000, "warm-", TimeSpan.FromSeconds(2), Workers);
        }

        var results = backends.ToDictionary(b => b.Name, _ => new List<(double PerSecond, double CpuUsPerBeat)>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var b in round % 2 == 0 ? backends : backends.Reverse())
            {
                var cpuBefore = await CpuSecondsAsync(b.Redis);
                var (count, elapsed) = await b.Bench.HeartbeatsAsync(PresenceRole.Community, users, "hb-", TimeSpan.FromSeconds(seconds), Workers);
                var cpu = await CpuSecondsAsync(b.Redis) - cpuBefore;
                var perSecond = count / elapsed.TotalSeconds;
                results[b.Name].Add((perSecond, cpu * 1e6 / count));
                Console.Error.WriteLine($"  round {round + 1}/{rounds} {b.Name}: {perSecond:F0} heartbeats/s, Redis CPU {cpu * 1e6 / count:F1} µs/heartbeat");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| backend | heartbeats/s (median) | Redis CPU per heartbeat (median, all primaries) |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var b in backends)
        {
            Console.WriteLine($"| {b.Name} | {Median(results[b.Name].Select(r => r.PerSecond)):F0} | {Median(results[b.Name].Select(r => r.CpuUsPerBeat)):F1} µs |");
        }

        var throughput = Median(results["3 primaries"].Select(r => r.PerSecond)) / Median(results["1 primary"].Select(r => r.PerSecond));
        Console.WriteLine($"3 primaries / 1 primary throughput: {throughput:F2}x");

        // Share of each role's users and memory per primary.
        Console.WriteLine();
        Console.WriteLine($"share per primary, {users} users per role loaded on the 3-primary cluster:");
        Console.WriteLine("| role | primary | users | share | memory growth | share |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
        var primaries = await cluster.PrimariesAsync();
        var bench = backends[1].Bench;
        double maxUserShare = 0, maxMemoryShare = 0;
        foreach (var role in Roles.All)
        {
            await FlushAsync(cluster);
            var before = await Task.WhenAll(primaries.Select(p => UsedMemoryAsync(cluster, p.EndPoint)));
            await bench.LoadAsync(role, users, "share-");
            var after = await Task.WhenAll(primaries.Select(p => UsedMemoryAsync(cluster, p.EndPoint)));
            var perPrimary = new long[primaries.Count];
            foreach (var shard in bench.Keys.AllShards)
            {
                var key = bench.Keys.LastSeen(role, shard);
                var owner = await cluster.PrimaryForKeyAsync(key);
                perPrimary[primaries.ToList().FindIndex(p => p.Port == owner.Port)] += await cluster.Database.SortedSetLengthAsync(key);
            }

            var memory = after.Zip(before, (a, b) => Math.Max(0, a - b)).ToArray();
            for (var i = 0; i < primaries.Count; i++)
            {
                maxUserShare = Math.Max(maxUserShare, 100.0 * perPrimary[i] / perPrimary.Sum());
                maxMemoryShare = Math.Max(maxMemoryShare, 100.0 * memory[i] / Math.Max(1, memory.Sum()));
                Console.WriteLine($"| {role.Name()} | {primaries[i].Address} | {perPrimary[i]} | {100.0 * perPrimary[i] / perPrimary.Sum():F1} % | " +
                    $"{memory[i] / 1024.0 / 1024.0:F1} MiB | {100.0 * memory[i] / Math.Max(1, memory.Sum()):F1} % |");
            }
        }

        // The board rebuild over the shards.
        Console.WriteLine();
        var (warmUps, reads) = quick ? (40, 5) : (40, 15);
        Console.WriteLine($"board rebuild, {rebuildTherapists} therapists online, {PresenceOptions.DefaultShards} shards (median of {reads} reads after {warmUps} warm-ups):");
        var rebuildMs = new Dictionary<string, double>();
        foreach (var b in backends)
        {
            await FlushAsync(b.Redis);
            rebuildMs[b.Name] = await b.Bench.BoardRebuildMsAsync(rebuildTherapists, warmUps, reads);
            Console.WriteLine($"  {b.Name}: {rebuildMs[b.Name]:F1} ms");
            await FlushAsync(b.Redis);
        }

        // The part's goal rows in the final table (docs/benchmarks.md, "Sharding: 1 primary vs 3").
        Console.WriteLine();
        var c = CultureInfo.InvariantCulture;
        BenchRows.Write(Console.Out, "sharding: max share of a role's users on one primary (3 primaries)", string.Create(c, $"{maxUserShare:F1} %"), "<= 40 %", maxUserShare <= 40);
        BenchRows.Write(Console.Out, "sharding: max share of a role's memory on one primary", string.Create(c, $"{maxMemoryShare:F1} %"), "<= 40 %", maxMemoryShare <= 40);
        BenchRows.Write(Console.Out, $"sharding: board rebuild at {rebuildTherapists / 1000}k therapists over {PresenceOptions.DefaultShards} shards, 3 primaries",
            string.Create(c, $"{rebuildMs["3 primaries"]:F1} ms ({rebuildMs["1 primary"]:F1} ms on 1 primary)"), "<= 200 ms", rebuildMs["3 primaries"] <= 200);
        BenchRows.Write(Console.Out, "sharding: heartbeats/s 3 primaries vs 1 primary (side by side)", string.Create(c, $"{throughput:F2}x"), ">= 1.0x", throughput >= 1.0);
        return 0;
    }

    private static string AffinityText()
    {
        // Linux: the cores this process may run on (taskset by ./dev.sh bench when a core is free).
        var status = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)) : null;
        return (status?.Split(':')[1].Trim() ?? "unknown") + $" of {Environment.ProcessorCount} cores";
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }

    private static IEnumerable<IServer> Primaries(IRedisBackend redis) =>
        redis.Client.GetEndPoints().Select(e => redis.Client.GetServer(e)).Where(s => s.IsConnected && !s.IsReplica);

    private static async Task FlushAsync(IRedisBackend redis)
    {
        foreach (var server in Primaries(redis))
        {
            await server.FlushAllDatabasesAsync();
        }
    }

    private static async Task<double> CpuSecondsAsync(IRedisBackend redis)
    {
        double total = 0;
        foreach (var server in Primaries(redis))
        {
            var info = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
            total += double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture);
        }

        return total;
    }

    private static async Task<long> UsedMemoryAsync(IRedisBackend redis, EndPoint endPoint)
    {
        var info = await redis.Client.GetServer(endPoint).InfoAsync("memory");
        return long.Parse(info.SelectMany(g => g).First(kv => kv.Key == "used_memory").Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The store and reader of one backend, in process, with the default shard count.</summary>
    private sealed class Bench
    {
        private readonly PresenceStore _store;
        private readonly PresenceReader _reader;

        public Bench(IRedisBackend redis)
        {
            var provider = StoreClient.CoreProvider(redis);
            _store = provider.GetRequiredService<PresenceStore>();
            _reader = provider.GetRequiredService<PresenceReader>();
            Keys = provider.GetRequiredService<PresenceKeys>();
        }

        public PresenceKeys Keys { get; }

        /// <summary><paramref name="workers"/> loops beating users in turn for <paramref name="duration"/>; how many beats landed.</summary>
        public async Task<(long Count, TimeSpan Elapsed)> HeartbeatsAsync(PresenceRole role, int users, string idPrefix, TimeSpan duration, int workers)
        {
            long count = 0;
            var next = 0;
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
            {
                while (Stopwatch.GetElapsedTime(started) < duration)
                {
                    var i = Interlocked.Increment(ref next) % users;
                    await _store.HeartbeatAsync(new Heartbeat(role, idPrefix + i.ToString(CultureInfo.InvariantCulture), HeartbeatTransport.Hub)).ConfigureAwait(false);
                    Interlocked.Increment(ref count);
                }
            }));
            return (count, Stopwatch.GetElapsedTime(started));
        }

        public async Task LoadAsync(PresenceRole role, int users, string idPrefix)
        {
            const int Parallel = 64;
            for (var start = 0; start < users; start += Parallel)
            {
                await Task.WhenAll(Enumerable.Range(start, Math.Min(Parallel, users - start))
                    .Select(i => _store.HeartbeatAsync(new Heartbeat(role, idPrefix + i.ToString(CultureInfo.InvariantCulture), HeartbeatTransport.Hub))));
            }
        }

        public async Task<double> BoardRebuildMsAsync(int tracked, int warmUps, int reads)
        {
            await LoadAsync(PresenceRole.Therapist, tracked, "rebuild-");
            var times = new List<double>();
            for (var i = 0; i < warmUps + reads; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var board = await _reader.GetBoardAsync(PresenceRole.Therapist);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (board.Entries.Count != tracked)
                {
                    throw new InvalidOperationException($"The board holds {board.Entries.Count} therapists, expected {tracked}.");
                }

                if (i >= warmUps)
                {
                    times.Add(elapsed);
                }
            }

            return Median(times);
        }
    }
}
