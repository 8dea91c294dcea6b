using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;
using Role = Presence.Core.Role;

namespace Presence.Benchmarks;

/// <summary>The shared store, in process, to load the bench's Redis as the services would.</summary>
internal sealed class StoreClient
{
    private readonly RedisServer _redis;
    private readonly PresenceStore _store;
    private readonly PresenceReader _reader;

    public StoreClient(RedisServer redis)
    {
        _redis = redis;
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        // Presence__* from the environment (e.g. Presence__Shards); a bench measures, so reads get a long timeout.
        services.AddPresenceCore(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Redis:Resilience:Timeout"] = "00:00:30" })
            .AddEnvironmentVariables().Build());
        var provider = services.BuildServiceProvider();
        _store = provider.GetRequiredService<PresenceStore>();
        _reader = provider.GetRequiredService<PresenceReader>();
    }

    public Task OnlineTherapistsAsync(int count, string idPrefix) => HeartbeatsAsync(Role.Therapist, count, idPrefix);

    /// <summary>Redis <c>used_memory</c> growth per tracked user (user hash + lastseen + online entries), over <paramref name="users"/>.</summary>
    public async Task<double> MemoryPerUserAsync(int users)
    {
        var server = _redis.Client.GetServer(_redis.Client.GetEndPoints()[0]);
        await server.FlushAllDatabasesAsync();
        var before = await UsedMemoryAsync(server);
        await HeartbeatsAsync(Role.Community, users, "mem-");
        var after = await UsedMemoryAsync(server);
        return (double)(after - before) / users;
    }

    /// <summary>
    /// Median time of one board read (the Redis reads plus assembling the ordered entries) with
    /// <paramref name="tracked"/> therapists on the board, over 15 reads after 40 warm-ups (past tiered JIT's
    /// 30-call threshold: status-query rebuilds every 2 s, so its reader runs fully optimised within a minute).
    /// </summary>
    public async Task<double> BoardRebuildMsAsync(int tracked)
    {
        var server = _redis.Client.GetServer(_redis.Client.GetEndPoints()[0]);
        await server.FlushAllDatabasesAsync();
        await HeartbeatsAsync(Role.Therapist, tracked, "rebuild-");
        var times = new List<double>();
        for (var i = 0; i < 55; i++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var board = await _reader.GetBoardAsync(Role.Therapist);
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (board.Entries.Count != tracked)
            {
                throw new InvalidOperationException($"The board holds {board.Entries.Count} therapists, expected {tracked}.");
            }

            if (i >= 40)
            {
                times.Add(elapsed);
            }
        }

        times.Sort();
        return times[times.Count / 2];
    }

    private async Task HeartbeatsAsync(Role role, int count, string idPrefix)
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
