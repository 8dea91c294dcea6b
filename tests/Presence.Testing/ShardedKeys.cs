using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>Test reads over every shard of a role (docs/architecture.md, "Shards"): sums and concatenations.</summary>
public static class ShardedKeys
{
    /// <summary>One key per shard, built by <paramref name="key"/>.</summary>
    public static RedisKey[] InAllShards(this PresenceKeys keys, Func<int, RedisKey> key) => [.. keys.AllShards.Select(key)];

    /// <summary>Members of the role's online index, summed over the shards.</summary>
    public static Task<long> OnlineLengthAsync(this IDatabaseAsync db, PresenceKeys keys, PresenceRole role) =>
        db.SortedSetLengthSumAsync(keys.InAllShards(s => keys.Online(role, s)));

    /// <summary>Sum of ZCARD over the keys.</summary>
    public static async Task<long> SortedSetLengthSumAsync(this IDatabaseAsync db, IEnumerable<RedisKey> keys) =>
        (await Task.WhenAll(keys.Select(k => db.SortedSetLengthAsync(k))).ConfigureAwait(false)).Sum();

    /// <summary>The members of one set spread over every shard (a gateway instance's sessions, say), added up.</summary>
    public static async Task<long> SetLengthSumAsync(this IDatabaseAsync db, IEnumerable<RedisKey> keys) =>
        (await Task.WhenAll(keys.Select(k => db.SetLengthAsync(k)))).Sum();

    /// <summary>Whether any of the keys exists.</summary>
    public static async Task<bool> AnyKeyExistsAsync(this IDatabaseAsync db, IEnumerable<RedisKey> keys) =>
        (await Task.WhenAll(keys.Select(k => db.KeyExistsAsync(k))).ConfigureAwait(false)).Any(e => e);

    /// <summary>Entries pending in the group, summed over every shard stream of the role.</summary>
    public static async Task<long> PendingSumAsync(this IDatabaseAsync db, PresenceKeys keys, PresenceRole role, string group) =>
        (await Task.WhenAll(keys.EventStreams(role).Select(k => db.StreamPendingAsync(k, group))).ConfigureAwait(false)).Sum(p => p.PendingMessageCount);

    /// <summary>
    /// Every entry of every shard stream of the role, by entry id (append time) across the streams; a user's entries
    /// are all in one stream, so they keep their order. Users in different shards appended in the same millisecond
    /// have no defined order between them.
    /// </summary>
    public static async Task<StreamEntry[]> AllEventsAsync(this IDatabaseAsync db, PresenceKeys keys, PresenceRole role) =>
        [.. (await Task.WhenAll(keys.EventStreams(role).Select(k => db.StreamRangeAsync(k))).ConfigureAwait(false))
            .SelectMany(e => e).OrderBy(e => EntryTime(e.Id)).ThenBy(e => EntrySequence(e.Id))];

    private static long EntryTime(RedisValue id) => long.Parse(id.ToString().Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static long EntrySequence(RedisValue id) => long.Parse(id.ToString().Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
}
