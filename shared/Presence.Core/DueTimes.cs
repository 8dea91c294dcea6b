using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// When the next user of any role will be due in the online index (docs/architecture.md, "Sweeps"): the lowest
/// online-until over every role and shard, one <c>ZRANGE ... 0 0 WITHSCORES</c> per shard, all pipelined in one round
/// trip. Lets the janitor wake when the first user lapses instead of a whole sweep interval later.
/// </summary>
public sealed class DueTimes(IConnectionMultiplexer redis, RedisResilience resilience, PresenceKeys keys)
{
    /// <summary>The earliest online-until (Unix ms) of anyone online, or null when nobody is.</summary>
    public async Task<long?> EarliestOnlineUntilAsync(CancellationToken ct = default) =>
        await resilience.ExecuteAsync(
            static async (s, _) =>
            {
                // Every role's shards started before any is awaited: one pipelined round trip.
                var perRole = Roles.All.Select(role => ShardFanOut.AllAsync(
                    s.keys, shard => s.db.SortedSetRangeByRankWithScoresAsync(s.keys.Online(role, shard), 0, 0))).ToArray();
                long? earliest = null;
                foreach (var first in (await Task.WhenAll(perRole).ConfigureAwait(false)).SelectMany(shards => shards))
                {
                    if (first.Length > 0 && (earliest is null || first[0].Score < earliest))
                    {
                        earliest = (long)first[0].Score;
                    }
                }

                return earliest;
            },
            (db: redis.GetDatabase(), keys),
            idempotent: true,
            ct).ConfigureAwait(false);
}
