using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Presence.Core.Engagement;
using StackExchange.Redis;

namespace Presence.Core.Intervals;

/// <summary>
/// The "someone is watching this therapist" signal of the interval policy (docs/architecture.md, "Adaptive heartbeat
/// interval"). Gateways mark the therapists their connections watch by id in one ZSET scored by watched-until
/// (<see cref="MarkAsync"/>, renewed while the watch lasts, so a crashed gateway's marks lapse by themselves); every
/// instance that answers heartbeats re-reads the live part every few seconds (<see cref="RefreshAsync"/>), so the
/// heartbeat path itself asks Redis nothing. Watching the whole board does not count: the public board is always
/// open somewhere, and it would make the rule "every therapist, always".
/// </summary>
public sealed class WatchedTherapists(
    IConnectionMultiplexer redis,
    EngagementKeys keys,
    RedisResilience resilience,
    IOptionsMonitor<HeartbeatIntervalOptions> options,
    TimeProvider time)
{
    private FrozenSet<string> _watched = FrozenSet<string>.Empty;

    public bool IsWatched(string therapistId) => _watched.Contains(therapistId);

    public int Count => _watched.Count;

    /// <summary>Marks these therapists watched for <see cref="HeartbeatIntervalOptions.WatchedTtl"/> and drops lapsed marks.</summary>
    public async Task MarkAsync(IReadOnlyCollection<string> therapistIds, CancellationToken ct)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var until = nowMs + (long)options.CurrentValue.WatchedTtl.TotalMilliseconds;
        var entries = therapistIds.Where(UserId.IsValid).Select(id => new SortedSetEntry(id, until)).ToArray();
        await resilience.ExecuteAsync(static async (s, _) =>
        {
            var db = s.redis.GetDatabase();
            var trim = db.SortedSetRemoveRangeByScoreAsync(s.key, double.NegativeInfinity, s.nowMs, Exclude.Stop);
            if (s.entries.Length > 0)
            {
                await db.SortedSetAddAsync(s.key, s.entries, SortedSetWhen.GreaterThan).ConfigureAwait(false);
            }

            return await trim.ConfigureAwait(false);
        }, (redis, key: keys.WatchedTherapists, entries, nowMs), idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>Re-reads the therapists watched now into memory.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var ids = await resilience.ExecuteAsync(
            static (s, _) => s.redis.GetDatabase().SortedSetRangeByScoreAsync(s.key, s.nowMs, double.PositiveInfinity, Exclude.Start),
            (redis, key: keys.WatchedTherapists, nowMs), idempotent: false, ct).ConfigureAwait(false);
        _watched = ids.Select(v => v.ToString()).ToFrozenSet(StringComparer.Ordinal);
    }
}
