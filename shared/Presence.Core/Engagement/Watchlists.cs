using StackExchange.Redis;

namespace Presence.Core.Engagement;

/// <summary>
/// Community users' preferred therapists (docs/architecture.md, "Watchlists and notifications"): one SET per user and
/// a reverse SET per therapist (who listed it) for the notifier. The two live in different slots on Redis Cluster, so
/// a replacement is not one atomic script: the user's own set is replaced in one MULTI (the source of truth) and the
/// reverse index follows; the notifier checks the user's set before it notifies, so a reverse entry left behind by an
/// interrupted write sends nothing, and repeating the PUT repairs it.
/// </summary>
public sealed class Watchlists(IConnectionMultiplexer redis, EngagementKeys keys, RedisResilience resilience, EngagementMetrics metrics)
{
    public const int MaxTherapists = 50;

    public async Task<IReadOnlyList<string>> GetAsync(string userId, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        var members = await resilience.ExecuteAsync(static (s, _) => s.redis.GetDatabase().SetMembersAsync(s.key),
            (redis, key: keys.Watchlist(userId)), idempotent: false, ct).ConfigureAwait(false);
        return [.. members.Select(m => m.ToString()).Order(StringComparer.Ordinal)];
    }

    /// <summary>Replaces the user's list with ids parsed at the edge (see the string overload).</summary>
    public Task<IReadOnlyList<string>> ReplaceAsync(UserId userId, IReadOnlyCollection<UserId> therapistIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(therapistIds);
        return ReplaceAsync(userId.Value, [.. therapistIds.Select(id => id.Value)], ct);
    }

    /// <summary>Replaces the user's list; ids must be valid and at most <see cref="MaxTherapists"/>.</summary>
    public async Task<IReadOnlyList<string>> ReplaceAsync(string userId, IReadOnlyCollection<string> therapistIds, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        var wanted = therapistIds.Distinct(StringComparer.Ordinal).ToArray();
        if (wanted.Length > MaxTherapists || !wanted.All(UserId.IsValid))
        {
            throw new ArgumentException($"At most {MaxTherapists} valid therapist ids.", nameof(therapistIds));
        }

        var previous = await GetAsync(userId, ct).ConfigureAwait(false);
        await resilience.ExecuteAsync(static async (s, token) =>
        {
            var db = s.redis.GetDatabase();
            var tx = db.CreateTransaction();
            _ = tx.KeyDeleteAsync(s.listKey);
            if (s.wanted.Length > 0)
            {
                _ = tx.SetAddAsync(s.listKey, [.. s.wanted.Select(id => (RedisValue)id)]);
            }

            var committed = tx.ExecuteAsync();
            var reverse = s.previous.Except(s.wanted, StringComparer.Ordinal).Select(t => db.SetRemoveAsync(s.keys.Watchers(t), s.userId))
                .Concat(s.wanted.Select(t => db.SetAddAsync(s.keys.Watchers(t), s.userId)));
            await Task.WhenAll(reverse).ConfigureAwait(false);
            return await committed.ConfigureAwait(false);
        }, (redis, keys, listKey: keys.Watchlist(userId), wanted, previous, userId), idempotent: true, ct).ConfigureAwait(false);
        metrics.WatchlistWritten();
        return [.. wanted.Order(StringComparer.Ordinal)];
    }

    /// <summary>The users who list this therapist now (reverse index, confirmed against each user's own list).</summary>
    public async Task<IReadOnlyList<string>> WatchersOfAsync(string therapistId, CancellationToken ct)
    {
        UserId.EnsureValid(therapistId);
        return await resilience.ExecuteAsync(static async (s, _) =>
        {
            var db = s.redis.GetDatabase();
            var candidates = await db.SetMembersAsync(s.keys.Watchers(s.therapistId)).ConfigureAwait(false);
            var ids = candidates.Select(c => c.ToString()).Where(UserId.IsValid).ToArray();
            var confirmed = await Task.WhenAll(ids.Select(u => db.SetContainsAsync(s.keys.Watchlist(u), s.therapistId))).ConfigureAwait(false);
            return (IReadOnlyList<string>)[.. ids.Where((_, i) => confirmed[i])];
        }, (redis, keys, therapistId), idempotent: false, ct).ConfigureAwait(false);
    }
}
