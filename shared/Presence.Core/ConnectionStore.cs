using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>What removing connections did to the user.</summary>
public enum DisconnectOutcome
{
    /// <summary>The user still holds other connections (another tab or device).</summary>
    ConnectionsRemain = 0,

    /// <summary>That was the last connection; the user was not online anyway.</summary>
    LastConnectionClosed = 1,

    /// <summary>That was the last connection and the user signed off (one <c>recent</c> event was appended).</summary>
    SignedOff = 2,
}

/// <summary>
/// Hub connections of multi-device users (DESIGN.md §3 <c>conns</c>, issue 4): the gateway records and
/// refreshes them and removes them on close; the janitor removes those whose expiry passed or whose
/// gateway instance's lease lapsed. A user left with no connection signs off, in the same script.
/// <para>
/// Layout: <c>conns:{id}</c> ZSET of <c>instance|connection</c> scored by expires-at; <c>connusers</c> ZSET of
/// users scored by their earliest expiry (so the janitor finds stale ones by score, never by scanning keys);
/// <c>instance:{instance}</c> SET of <c>user|connection</c> per role; <c>gateway:instances</c> ZSET of
/// instances scored by lease-until. Entries of connections that expired while their instance lives stay in
/// the instance set until the connection closes; the set is bounded by the instance's open connections.
/// </para>
/// </summary>
public sealed class ConnectionStore(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    IOptionsMonitor<PresenceOptions> options,
    RedisResilience resilience,
    ScriptRunner scripts,
    TimeProvider time)
{
    public const char Separator = '|';

    /// <summary>Records a connection or refreshes its expiry (call on connect and on each hub heartbeat); returns how many the user holds.</summary>
    public async Task<long> ConnectAsync(Role role, string userId, string instanceId, string connectionId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        var o = options.CurrentValue;
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        RedisKey[] scriptKeys = [keys.Connections(role, userId), keys.ConnectionIndex(role), keys.InstanceConnections(role, instanceId)];
        RedisValue[] args =
        [
            instanceId + Separator + connectionId, nowMs + (long)o.StaleConnection.TotalMilliseconds, userId,
            userId + Separator + connectionId, (long)o.Retention.TotalMilliseconds,
        ];
        return (long)await scripts.RunAsync("connect", PresenceScripts.Connect, scriptKeys, args, idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>Removes one connection (it closed); the user signs off when it was the last.</summary>
    public Task<DisconnectOutcome> DisconnectAsync(Role role, string userId, string instanceId, string connectionId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        return RemoveAsync(role, userId, keys.InstanceConnections(role, instanceId), instanceId + Separator + connectionId,
            userId + Separator + connectionId, "disconnect", ct);
    }

    /// <summary>Removes the user's connections whose expiry passed; the user signs off when none remain.</summary>
    public Task<DisconnectOutcome> ExpireConnectionsAsync(Role role, string userId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        return RemoveAsync(role, userId, keys.Connections(role, userId), RedisValue.EmptyString, RedisValue.EmptyString, "expire-connections", ct);
    }

    /// <summary>Users of a role holding at least one connection whose expiry passed (a bounded batch, by score).</summary>
    public async Task<string[]> UsersWithExpiredConnectionsAsync(Role role, int limit, CancellationToken ct = default)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var users = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, double.NegativeInfinity, s.nowMs, Exclude.None, Order.Ascending, 0, s.limit),
            (db: redis.GetDatabase(), key: keys.ConnectionIndex(role), nowMs, limit), idempotent: true, ct).ConfigureAwait(false);
        return [.. users.Select(u => u.ToString())];
    }

    /// <summary>A gateway instance announces it is alive until now + the instance lease.</summary>
    public async Task RenewInstanceAsync(string instanceId, CancellationToken ct = default)
    {
        var until = time.GetUtcNow().ToUnixTimeMilliseconds() + (long)options.CurrentValue.InstanceLease.TotalMilliseconds;
        await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetAddAsync(s.key, s.instanceId, s.until),
            (db: redis.GetDatabase(), key: keys.GatewayInstances, instanceId, until), idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>Gateway instances whose lease lapsed (a bounded batch).</summary>
    public async Task<string[]> LapsedInstancesAsync(int limit, CancellationToken ct = default)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var lapsed = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, double.NegativeInfinity, s.nowMs, Exclude.None, Order.Ascending, 0, s.limit),
            (db: redis.GetDatabase(), key: keys.GatewayInstances, nowMs, limit), idempotent: true, ct).ConfigureAwait(false);
        return [.. lapsed.Select(i => i.ToString())];
    }

    /// <summary>
    /// Removes every connection a gateway instance held (lapsed lease, or its own graceful stop), signing off
    /// users left with none, then forgets the instance. Returns how many users signed off.
    /// </summary>
    public async Task<int> RemoveInstanceAsync(string instanceId, CancellationToken ct = default)
    {
        var signedOff = 0;
        var db = redis.GetDatabase();
        foreach (var role in Roles.All)
        {
            var setKey = keys.InstanceConnections(role, instanceId);
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
                    var text = entry.ToString();
                    var split = text.IndexOf(Separator, StringComparison.Ordinal);
                    var userId = split > 0 ? text[..split] : string.Empty;
                    if (!UserId.IsValid(userId))
                    {
                        await resilience.ExecuteAsync(static (s, _) => s.db.SetRemoveAsync(s.setKey, s.entry), (db, setKey, entry), true, ct).ConfigureAwait(false);
                        continue;
                    }

                    var outcome = await RemoveAsync(role, userId, setKey, instanceId + Separator + text[(split + 1)..], entry, "remove-instance", ct).ConfigureAwait(false);
                    if (outcome == DisconnectOutcome.SignedOff)
                    {
                        signedOff++;
                    }
                }
            }
        }

        await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRemoveAsync(s.key, s.instanceId),
            (db, key: keys.GatewayInstances, instanceId), idempotent: true, ct).ConfigureAwait(false);
        return signedOff;
    }

    private async Task<DisconnectOutcome> RemoveAsync(
        Role role, string userId, RedisKey instanceSet, RedisValue member, RedisValue instanceEntry, string operation, CancellationToken ct)
    {
        var o = options.CurrentValue;
        RedisKey[] scriptKeys = [keys.Connections(role, userId), keys.ConnectionIndex(role), instanceSet, keys.Online(role), keys.Events(role)];
        RedisValue[] args = [member, instanceEntry, userId, time.GetUtcNow().ToUnixTimeMilliseconds(), o.EventStreamMaxLength, role.Name()];
        // All connection scripts converge (ZADD/ZREM/SADD/SREM of the same members), so they may be retried.
        return (DisconnectOutcome)(long)await scripts.RunAsync(operation, PresenceScripts.Disconnect, scriptKeys, args, idempotent: true, ct).ConfigureAwait(false);
    }
}
