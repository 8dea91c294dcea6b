namespace Presence.StatusQuery.Tests;

/// <summary>On a Redis of its own, so the command statistics are this test's alone.</summary>
public sealed class BoardCostTests(PrivateRedis redis) : IClassFixture<PrivateRedis>
{
    [Fact]
    public async Task Board_reads_ranges_by_score_and_the_cards_of_the_listed_and_never_scans_keys()
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
        Assert.DoesNotContain(stats.Keys, k => k is "cmdstat_keys" or "cmdstat_scan" or "cmdstat_zrange" or "cmdstat_hgetall");
        // Per shard (all shards at once; docs/architecture.md, "Readers over shards"): online, last-seen in the recent
        // window, and availability not lapsed: three ranges by score.
        var shards = h.Keys.Shards;
        Assert.StartsWith($"calls={3 * shards},", stats["cmdstat_zrangebyscore"], StringComparison.Ordinal);
        // The available users outside the recent window need their last activity: one ZMSCORE per shard holding some.
        var older = Enumerable.Range(0, 50).Where(i => i % 5 == 0).Select(i => h.Keys.ShardOf("t-" + i)).Distinct().Count();
        Assert.StartsWith($"calls={older},", stats["cmdstat_zmscore"], StringComparison.Ordinal);
        // Specialties, explicit availability ends and versions of everyone listed: one HMGET each per shard listing some.
        var listed = Enumerable.Range(0, 50).Where(i => i % 5 == 0).Select(i => "t-" + i).Append("t-new").Select(h.Keys.ShardOf).Distinct().Count();
        Assert.StartsWith($"calls={3 * listed},", stats["cmdstat_hmget"], StringComparison.Ordinal);
    }
}
