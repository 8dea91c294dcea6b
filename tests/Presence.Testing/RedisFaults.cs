using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>
/// Puts a real <see cref="RedisServer"/> into the states in which it answers but refuses writes, and takes it out
/// again: <c>OOM</c> (memory filled under <c>noeviction</c>), <c>MISCONF</c> (a failed BGSAVE with
/// <c>stop-writes-on-bgsave-error</c>) and <c>READONLY</c> (the server made a replica of another).
/// </summary>
public static class RedisFaults
{
    private const string FillPrefix = "fault:fill:";

    /// <summary>Caps memory a little above what is used, under <c>noeviction</c>, and writes until the server answers OOM.</summary>
    public static async Task FillMemoryAsync(this RedisServer redis)
    {
        var server = Server(redis);
        var db = redis.Database;
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        var used = long.Parse(Info(await server.InfoAsync("memory"), "used_memory"), System.Globalization.CultureInfo.InvariantCulture);
        await server.ConfigSetAsync("maxmemory", used + (512 * 1024));
        var value = new string('x', 32 * 1024);
        for (var i = 0; i < 10_000; i++)
        {
            try
            {
                await db.StringSetAsync(FillPrefix + i, value);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("OOM", StringComparison.Ordinal))
            {
                // Client buffers (the filler's own, the INFO reply) come and go by tens of KB, which would let small
                // writes through now and then: the cap goes down to what was used before the fill, under the
                // filler keys that stay, so the server answers OOM until FreeMemoryAsync.
                await server.ConfigSetAsync("maxmemory", used);
                return;
            }
        }

        throw new InvalidOperationException("Redis never answered OOM.");
    }

    /// <summary>Lifts the memory cap and drops the filler keys.</summary>
    public static async Task FreeMemoryAsync(this RedisServer redis)
    {
        var server = Server(redis);
        await server.ConfigSetAsync("maxmemory", 0);
        await foreach (var key in server.KeysAsync(pattern: FillPrefix + "*"))
        {
            await redis.Database.KeyDeleteAsync(key);
        }
    }

    /// <summary>
    /// Makes the next BGSAVE fail (a directory stands where <c>dump.rdb</c> goes: root can write anywhere, so an
    /// unwritable <c>dir</c> would not do) with save points set, so the server refuses writes with MISCONF.
    /// </summary>
    public static async Task BreakPersistenceAsync(this RedisServer redis)
    {
        var server = Server(redis);
        var dump = Path.Combine(redis.DataDirectory, "dump.rdb");
        if (File.Exists(dump))
        {
            File.Delete(dump);
        }

        Directory.CreateDirectory(dump);
        await server.ConfigSetAsync("stop-writes-on-bgsave-error", "yes");
        await server.ConfigSetAsync("save", "3600 1");
        await BackgroundSaveAsync(server, "err");
    }

    /// <summary>Clears the way for the dump, saves successfully (writes are accepted again) and turns saving off.</summary>
    public static async Task RepairPersistenceAsync(this RedisServer redis)
    {
        var server = Server(redis);
        Directory.Delete(Path.Combine(redis.DataDirectory, "dump.rdb"));
        await BackgroundSaveAsync(server, "ok");
        await server.ConfigSetAsync("save", "");
    }

    /// <summary>Makes <paramref name="redis"/> a replica of <paramref name="primary"/>: it answers reads and refuses writes with READONLY.</summary>
    public static async Task MakeReplicaOfAsync(this RedisServer redis, RedisServer primary)
    {
        var server = Server(redis);
        await server.ExecuteAsync("REPLICAOF", "127.0.0.1", primary.Port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Info(await server.InfoAsync("replication"), "master_link_status") != "up")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The replica did not sync with its primary within 10 s.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Promotes the replica back to a primary (<c>REPLICAOF NO ONE</c>), as a failover would.</summary>
    public static Task PromoteAsync(this RedisServer redis) => Server(redis).ExecuteAsync("REPLICAOF", "NO", "ONE");

    private static async Task BackgroundSaveAsync(IServer server, string expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        await WaitForNoSaveInProgressAsync(server, deadline);
        await server.SaveAsync(SaveType.BackgroundSave);
        await WaitForNoSaveInProgressAsync(server, deadline);
        var status = Info(await server.InfoAsync("persistence"), "rdb_last_bgsave_status");
        if (status != expected)
        {
            throw new InvalidOperationException($"BGSAVE ended '{status}', expected '{expected}'.");
        }
    }

    private static async Task WaitForNoSaveInProgressAsync(IServer server, DateTime deadline)
    {
        while (Info(await server.InfoAsync("persistence"), "rdb_bgsave_in_progress") != "0")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("BGSAVE did not finish within 10 s.");
            }

            await Task.Delay(20);
        }
    }

    private static IServer Server(RedisServer redis) => redis.Client.GetServer(redis.Client.GetEndPoints()[0]);

    private static string Info(IGrouping<string, KeyValuePair<string, string>>[] info, string field) =>
        info.SelectMany(g => g).FirstOrDefault(p => p.Key == field).Value
            ?? throw new InvalidOperationException($"INFO has no field {field}.");

    /// <summary>The refusals <see cref="BreakAsync"/> knows, by name: the rows of every test that takes each of them.</summary>
    public static TheoryData<string> Refusals => new() { "oom", "misconf", "readonly" };

    /// <summary>
    /// Puts <paramref name="redis"/> into one refusal by name: <c>oom</c> (full under noeviction), <c>misconf</c> (a
    /// failed background save) or <c>readonly</c> (a replica of <paramref name="primary"/>, started here).
    /// </summary>
    public static async Task BreakAsync(this RedisServer redis, string fault, RedisServer primary)
    {
        switch (fault)
        {
            case "oom":
                await redis.FillMemoryAsync();
                break;
            case "misconf":
                await redis.BreakPersistenceAsync();
                break;
            default:
                await primary.InitializeAsync();
                await redis.MakeReplicaOfAsync(primary);
                break;
        }
    }

    /// <summary>Undoes <see cref="BreakAsync"/>: frees the memory, repairs persistence, or promotes the replica.</summary>
    public static Task RepairAsync(this RedisServer redis, string fault) => fault switch
    {
        "oom" => redis.FreeMemoryAsync(),
        "misconf" => redis.RepairPersistenceAsync(),
        _ => redis.PromoteAsync(),
    };
}
