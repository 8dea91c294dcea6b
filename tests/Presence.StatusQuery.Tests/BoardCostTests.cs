namespace Presence.StatusQuery.Tests;

/// <summary>On a Redis of its own, so the command statistics are this test's alone.</summary>
public sealed class BoardCostTests(PrivateRedis redis) : IClassFixture<PrivateRedis>
{
    [Fact]
    public async Task Board_reads_entries_and_ranges_by_score_in_one_round_trip_per_shard_and_never_scans_keys()
    {
        await using var h = new ReaderHarness(redis.Server);
        for (var i = 0; i < 50; i++)
        {
            await h.BeatAsync("t-" + i, available: i % 5 == 0);
        }

        h.Time.Advance(TimeSpan.FromHours(2));
        await h.BeatAsync("t-new");
        var server = redis.Server.Client.GetServer(redis.Server.Client.GetEndPoints()[0]);
        await server.ExecuteAsync("CONFIG", "RESETSTAT");

        var board = await h.BoardAsync();

        Assert.Equal(new PresenceCounts(1, 0, 10), board.Counts);
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        Assert.DoesNotContain(stats.Keys, k => k is "cmdstat_keys" or "cmdstat_scan" or "cmdstat_zrange" or "cmdstat_hmget" or "cmdstat_hgetall");
        // Per shard (all shards at once; docs/architecture.md, "Board entries"), in one round trip: the board entries,
        // and three ranges by score (last-seen in the recent window, online already due, availability not lapsed)
        // and the size of the online index. No per-user command: every listed user has an entry.
        var shards = h.Keys.Shards;
        Assert.StartsWith($"calls={shards},", stats["cmdstat_hvals"], StringComparison.Ordinal);
        Assert.StartsWith($"calls={3 * shards},", stats["cmdstat_zrangebyscore"], StringComparison.Ordinal);
        Assert.StartsWith($"calls={shards},", stats["cmdstat_zcard"], StringComparison.Ordinal);
        // The available users outside the recent window need their last activity: one ZMSCORE per shard holding some.
        var older = Enumerable.Range(0, 50).Where(i => i % 5 == 0).Select(i => h.Keys.ShardOf("t-" + i)).Distinct().Count();
        Assert.StartsWith($"calls={older},", stats["cmdstat_zmscore"], StringComparison.Ordinal);
    }
}
