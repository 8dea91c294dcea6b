using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// Gateway instances and the hub sessions each holds (docs/architecture.md, "Sessions"): an instance renews a lease;
/// when it lapses (a killed pod) the janitor ends that instance's sessions only, as lost (reason <c>lost-instance</c>).
/// <para>
/// Layout: <c>gateway:instances</c> ZSET of instances scored by lease-until; <c>instance:{instance}</c> SET of
/// <c>user|connection</c> per shard of each role. An entry leaves the set when its connection closes or is lost.
/// </para>
/// </summary>
public sealed class ConnectionStore(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    IOptionsMonitor<PresenceOptions> options,
    RedisResilience resilience,
    PresenceStore store,
    TimeProvider time)
{
    public const char Separator = '|';

    private const string HubSessionPrefix = "hub:";

    /// <summary>A gateway instance announces it is alive until now + the instance lease.</summary>
    public async Task RenewInstanceAsync(string instanceId, CancellationToken ct = default)
    {
        var until = time.GetUtcNow().ToUnixTimeMilliseconds() + (long)options.CurrentValue.InstanceLease.TotalMilliseconds;
        await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetAddAsync(s.key, s.instanceId, s.until),
            (db: redis.GetDatabase(), key: keys.GatewayInstances, instanceId, until), idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A gateway renews its lease every third of <see cref="PresenceOptions.InstanceLease"/>; it counts as lapsed only
    /// when it missed renewals for a whole lease after the one that was due (lease-until + a third of the lease), so a
    /// gateway paused for less than its lease is never taken for a dead one (docs/reliability.md, "Stalls").
    /// </summary>
    public TimeSpan LapseMargin => options.CurrentValue.InstanceLease / 3;

    /// <summary>Gateway instances whose lease lapsed (a bounded batch; see <see cref="LapseMargin"/>).</summary>
    public async Task<string[]> LapsedInstancesAsync(int limit, CancellationToken ct = default)
    {
        var lapsedBefore = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)LapseMargin.TotalMilliseconds;
        var lapsed = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, double.NegativeInfinity, s.lapsedBefore, Exclude.None, Order.Ascending, 0, s.limit),
            (db: redis.GetDatabase(), key: keys.GatewayInstances, lapsedBefore, limit), idempotent: true, ct).ConfigureAwait(false);
        return [.. lapsed.Select(i => i.ToString())];
    }

    /// <summary>
    /// A user's live hub connections, grouped by the live gateway instance holding each (docs/architecture.md,
    /// "Sessions"): the connections are the user's unexpired <c>hub:</c> sessions, the instance the one whose set lists
    /// <c>user|connection</c>. Used to reach a user's own connections only, through the instance that holds them.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string[]>> LiveHubConnectionsAsync(PresenceRole role, string userId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var db = redis.GetDatabase();
        var sessions = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, s.nowMs, double.PositiveInfinity, Exclude.Start),
            (db, key: keys.Sessions(role, userId), nowMs), idempotent: true, ct).ConfigureAwait(false);
        var connections = sessions.Select(m => m.ToString()).Where(m => m.StartsWith(HubSessionPrefix, StringComparison.Ordinal))
            .Select(m => m[HubSessionPrefix.Length..]).ToArray();
        if (connections.Length == 0)
        {
            return new Dictionary<string, string[]>(StringComparer.Ordinal);
        }

        var instances = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, s.nowMs, double.PositiveInfinity, Exclude.Start),
            (db, key: keys.GatewayInstances, nowMs), idempotent: true, ct).ConfigureAwait(false);
        var entries = connections.Select(c => (RedisValue)(userId + Separator + c)).ToArray();
        var held = await resilience.ExecuteAsync(
            static (s, _) => Task.WhenAll(s.instances.Select(i => s.db.SetContainsAsync(s.keys.InstanceConnections(s.role, s.userId, i.ToString()), s.entries))),
            (db, keys, role, userId, instances, entries), idempotent: true, ct).ConfigureAwait(false);
        var byInstance = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var i = 0; i < instances.Length; i++)
        {
            var mine = connections.Where((_, c) => held[i][c]).ToArray();
            if (mine.Length > 0)
            {
                byInstance[instances[i].ToString()] = mine;
            }
        }

        return byInstance;
    }

    /// <summary>
    /// Ends at most <paramref name="maxSessions"/> sessions of a lapsed instance as lost (reason <c>lost-instance</c>
    /// for a user left without a session), pipelined in batches; forgets the instance once it holds none. The lease is
    /// read again first: an instance that renewed since it was listed (a paused gateway or janitor that came back) is
    /// left alone. Returns the users who left, the sessions ended, and whether the instance is gone.
    /// </summary>
    public async Task<(int Left, int Ended, bool Done)> RemoveLapsedInstanceAsync(string instanceId, int maxSessions, CancellationToken ct = default)
    {
        var db = redis.GetDatabase();
        var score = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetScoreAsync(s.key, s.instanceId),
            (db, key: keys.GatewayInstances, instanceId), idempotent: true, ct).ConfigureAwait(false);
        var lapsedBefore = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)LapseMargin.TotalMilliseconds;
        if (score is null || score > lapsedBefore)
        {
            return (0, 0, true);
        }

        int left = 0, ended = 0;
        foreach (var (role, shard) in Roles.All.SelectMany(r => keys.AllShards.Select(s => (r, s))))
        {
            var setKey = keys.InstanceConnections(role, shard, instanceId);
            while (ended < maxSessions)
            {
                var batch = await resilience.ExecuteAsync(
                    static (s, _) => s.db.SetRandomMembersAsync(s.setKey, s.count),
                    (db, setKey, count: Math.Min(256, maxSessions - ended)), idempotent: true, ct).ConfigureAwait(false);
                if (batch.Length == 0)
                {
                    break;
                }

                // Issued together: one pipelined round trip per batch; each ending is atomic and removes its entry.
                var outcomes = await Task.WhenAll(batch.Select(entry => EndEntryAsync(db, role, setKey, instanceId, entry, lost: true, ct))).ConfigureAwait(false);
                left += outcomes.Count(o => o == SessionEndOutcome.Left);
                ended += batch.Length;
            }
        }

        if (ended >= maxSessions)
        {
            // Every shard's set at once: one pipelined round trip.
            var remaining = await Task.WhenAll(Roles.All.SelectMany(r => keys.AllShards.Select(shard => resilience.ExecuteAsync(
                static (s, _) => s.db.SetLengthAsync(s.setKey),
                (db, setKey: keys.InstanceConnections(r, shard, instanceId)), idempotent: true, ct).AsTask()))).ConfigureAwait(false);
            if (remaining.Any(n => n > 0))
            {
                return (left, ended, false);
            }
        }

        await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRemoveAsync(s.key, s.instanceId),
            (db, key: keys.GatewayInstances, instanceId), idempotent: true, ct).ConfigureAwait(false);
        return (left, ended, true);
    }

    /// <summary>
    /// Ends the session one entry of an instance's set names (<c>userId|connectionId</c>): <paramref name="lost"/>, the
    /// instance's lease lapsed; otherwise the instance closed it on its own stop. A malformed entry is only removed (null).
    /// </summary>
    private async Task<SessionEndOutcome?> EndEntryAsync(
        IDatabase db, PresenceRole role, RedisKey setKey, string instanceId, RedisValue entry, bool lost, CancellationToken ct)
    {
        var text = entry.ToString();
        var split = text.IndexOf(Separator, StringComparison.Ordinal);
        var userId = split > 0 ? text[..split] : string.Empty;
        var connectionId = split > 0 ? text[(split + 1)..] : string.Empty;
        if (!UserId.IsValid(userId) || !UserId.IsValid(connectionId))
        {
            await resilience.ExecuteAsync(static (s, _) => s.db.SetRemoveAsync(s.setKey, s.entry), (db, setKey, entry), true, ct).ConfigureAwait(false);
            return null;
        }

        return lost
            ? await store.LoseConnectionAsync(role, userId, instanceId, connectionId, ct).ConfigureAwait(false)
            : await store.CloseConnectionAsync(role, userId, instanceId, connectionId, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends every session a gateway instance still holds, then forgets the instance. <paramref name="lost"/>: the
    /// instance's lease lapsed (users left without a session leave now, reason <c>lost-instance</c>); otherwise it is
    /// the instance's own graceful stop (its connections closed: the leave grace applies). Returns how many users left.
    /// </summary>
    public async Task<int> RemoveInstanceAsync(string instanceId, bool lost = true, CancellationToken ct = default)
    {
        var left = 0;
        var db = redis.GetDatabase();
        foreach (var (role, shard) in Roles.All.SelectMany(r => keys.AllShards.Select(s => (r, s))))
        {
            var setKey = keys.InstanceConnections(role, shard, instanceId);
            while (true)
            {
                var batch = await resilience.ExecuteAsync(
                    static (s, _) => s.db.SetRandomMembersAsync(s.setKey, 256),
                    (db, setKey), idempotent: true, ct).ConfigureAwait(false);
                if (batch.Length == 0)
                {
                    break;
                }

                foreach (var entry in batch)
                {
                    if (await EndEntryAsync(db, role, setKey, instanceId, entry, lost, ct).ConfigureAwait(false) == SessionEndOutcome.Left)
                    {
                        left++;
                    }
                }
            }
        }

        await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRemoveAsync(s.key, s.instanceId),
            (db, key: keys.GatewayInstances, instanceId), idempotent: true, ct).ConfigureAwait(false);
        return left;
    }
}
