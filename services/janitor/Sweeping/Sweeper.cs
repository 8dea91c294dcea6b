using Microsoft.Extensions.Options;
using Presence.Core;
using StackExchange.Redis;
using Role = Presence.Core.Role;

namespace Presence.Janitor.Sweeping;

/// <summary>What one sweep tick did.</summary>
/// <param name="OnlineRemoved">Members removed from the roles' <c>online</c> sets (online-until passed).</param>
/// <param name="Transitions"><c>recent</c> transitions appended, by the online sweep and by connection sign-offs.</param>
/// <param name="LastSeenTrimmed">Last-seen entries older than the retention removed.</param>
/// <param name="ConnectionUsersExpired">Users whose stale hub connections were removed.</param>
/// <param name="InstancesRemoved">Gateway instances whose lease lapsed, removed with their connections.</param>
/// <param name="CaughtUp">False when a kind hit <see cref="JanitorOptions.MaxBatchesPerTick"/>: the next tick goes on.</param>
internal sealed record SweepReport(
    long OnlineRemoved, long Transitions, long LastSeenTrimmed, long ConnectionUsersExpired, long InstancesRemoved, bool CaughtUp);

/// <summary>
/// One tick of the janitor's work (DESIGN.md §3): online members whose online-until passed become recent,
/// gateway instances whose lease lapsed and stale hub connections are removed, last-seen entries past the
/// retention are trimmed, the event streams are capped, and the bucket counts are taken for the gauges.
/// Every kind runs in bounded batches, per role, until a batch comes back short or the per-tick bound is hit.
/// All of it is by score, so a tick that follows an outage catches up on everything that lapsed meanwhile.
/// Safe to run from two replicas at once: removals decide who emits, so nothing is emitted twice.
/// </summary>
internal sealed class Sweeper(
    IConnectionMultiplexer redis,
    RedisResilience resilience,
    ScriptRunner scripts,
    PresenceKeys keys,
    ConnectionStore connections,
    IOptionsMonitor<PresenceOptions> presenceOptions,
    IOptionsMonitor<JanitorOptions> janitorOptions,
    JanitorMetrics metrics,
    UserCountGauge gauge,
    TimeProvider time)
{
    /// <summary>Runs one tick. Throws <see cref="RedisUnavailableException"/> (or a <see cref="RedisException"/>) when Redis fails; the caller backs off.</summary>
    public async Task<SweepReport> SweepOnceAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var o = janitorOptions.CurrentValue;
        var p = presenceOptions.CurrentValue;
        long onlineRemoved = 0, transitions = 0, trimmed = 0, connectionUsers = 0, instances = 0;
        var caughtUp = true;

        // Online first: it is the one a person waits for (the goal is about a second past the window).
        foreach (var role in Roles.All)
        {
            var (removed, emitted, done) = await SweepOnlineAsync(role, o, p, ct).ConfigureAwait(false);
            onlineRemoved += removed;
            transitions += emitted;
            caughtUp &= done;
            metrics.Transitions(role, PresenceEventStatus.Recent, JanitorMetrics.KindOnline, emitted);
        }

        var (lapsed, lapsedSignOffs, instancesDone) = await RemoveLapsedInstancesAsync(o, ct).ConfigureAwait(false);
        instances += lapsed;
        transitions += lapsedSignOffs;
        caughtUp &= instancesDone;
        metrics.Transitions(null, PresenceEventStatus.Recent, JanitorMetrics.KindInstances, lapsedSignOffs);

        foreach (var role in Roles.All)
        {
            var (users, signOffs, done) = await ExpireConnectionsAsync(role, o, ct).ConfigureAwait(false);
            connectionUsers += users;
            transitions += signOffs;
            caughtUp &= done;
            metrics.Transitions(role, PresenceEventStatus.Recent, JanitorMetrics.KindConnections, signOffs);

            var (trimmedRole, trimDone) = await TrimLastSeenAsync(role, o, p, ct).ConfigureAwait(false);
            trimmed += trimmedRole;
            caughtUp &= trimDone;
        }

        await CapStreamsAsync(p, ct).ConfigureAwait(false);
        gauge.Publish(await CountAsync(p, ct).ConfigureAwait(false));

        var report = new SweepReport(onlineRemoved, transitions, trimmed, connectionUsers, instances, caughtUp);
        metrics.Sweep(time.GetElapsedTime(started), report);
        return report;
    }

    private async Task<(long Removed, long Emitted, bool Done)> SweepOnlineAsync(Role role, JanitorOptions o, PresenceOptions p, CancellationToken ct)
    {
        long removed = 0, emitted = 0;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            RedisValue[] args = [time.GetUtcNow().ToUnixTimeMilliseconds(), o.BatchSize, p.EventStreamMaxLength, role.Name()];
            var reply = (long[])(await scripts.RunAsync("janitor-sweep", JanitorScripts.Sweep, [keys.Online(role), keys.Events(role)], args,
                idempotent: true, ct).ConfigureAwait(false))!;
            removed += reply[0];
            emitted += reply[1];
            if (reply[0] < o.BatchSize)
            {
                return (removed, emitted, true);
            }
        }

        return (removed, emitted, false);
    }

    private async Task<(long Trimmed, bool Done)> TrimLastSeenAsync(Role role, JanitorOptions o, PresenceOptions p, CancellationToken ct)
    {
        long trimmed = 0;
        var cutoff = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)p.Retention.TotalMilliseconds;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            var removed = (long)await scripts.RunAsync("janitor-retention-trim", JanitorScripts.RetentionTrim, [keys.LastSeen(role)],
                [cutoff, o.BatchSize], idempotent: true, ct).ConfigureAwait(false);
            trimmed += removed;
            if (removed < o.BatchSize)
            {
                return (trimmed, true);
            }
        }

        return (trimmed, false);
    }

    private async Task<(long Users, long SignOffs, bool Done)> ExpireConnectionsAsync(Role role, JanitorOptions o, CancellationToken ct)
    {
        long users = 0, signOffs = 0;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            var stale = await connections.UsersWithExpiredConnectionsAsync(role, o.BatchSize, ct).ConfigureAwait(false);
            foreach (var userId in stale)
            {
                // Only valid ids are ever indexed; a foreign entry is skipped rather than failing the tick.
                if (!UserId.IsValid(userId))
                {
                    continue;
                }

                users++;
                if (await connections.ExpireConnectionsAsync(role, userId, ct).ConfigureAwait(false) == DisconnectOutcome.SignedOff)
                {
                    signOffs++;
                }
            }

            if (stale.Length < o.BatchSize)
            {
                return (users, signOffs, true);
            }
        }

        return (users, signOffs, false);
    }

    private async Task<(long Instances, long SignOffs, bool Done)> RemoveLapsedInstancesAsync(JanitorOptions o, CancellationToken ct)
    {
        long instances = 0, signOffs = 0;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            var lapsed = await connections.LapsedInstancesAsync(o.BatchSize, ct).ConfigureAwait(false);
            foreach (var instanceId in lapsed)
            {
                signOffs += await connections.RemoveInstanceAsync(instanceId, ct).ConfigureAwait(false);
                instances++;
            }

            if (lapsed.Length < o.BatchSize)
            {
                return (instances, signOffs, true);
            }
        }

        return (instances, signOffs, false);
    }

    /// <summary>
    /// Every writer appends with <c>MAXLEN ~</c> already; this is the backstop for a stream that outgrew a lowered
    /// cap or was written without one. Approximate trimming only drops whole nodes, so it stays cheap.
    /// </summary>
    private async Task CapStreamsAsync(PresenceOptions p, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        foreach (var role in Roles.All)
        {
            await resilience.ExecuteAsync(
                static (s, _) => s.db.StreamTrimAsync(s.key, s.max, useApproximateMaxLength: true),
                (db, key: keys.Events(role), max: p.EventStreamMaxLength), idempotent: true, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Bucket counts in O(log N): online = online-until after now; recent = active within the recent window
    /// less the online ones (an online user's last activity is always within it); available = the flag, as SCARD
    /// (therapists flagged available may also be online or recent: the exact "available only" bucket needs a
    /// set intersection, O(N), which the status query computes for its board, not the gauge).
    /// </summary>
    private async Task<BucketCounts[]> CountAsync(PresenceOptions p, CancellationToken ct)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var recentFrom = nowMs - (long)p.RecentWindow.TotalMilliseconds;
        var db = redis.GetDatabase();
        return await resilience.ExecuteAsync(
            static async (s, _) =>
            {
                // Issued together before any is awaited: StackExchange.Redis pipelines them on one connection.
                var calls = s.roles.Select(role => (
                    role,
                    online: s.db.SortedSetLengthAsync(s.keys.Online(role), s.nowMs, double.PositiveInfinity, Exclude.Start),
                    active: s.db.SortedSetLengthAsync(s.keys.LastSeen(role), s.recentFrom, double.PositiveInfinity, Exclude.Start),
                    available: s.db.SetLengthAsync(s.keys.Available(role)))).ToArray();
                var counts = new BucketCounts[calls.Length];
                for (var i = 0; i < calls.Length; i++)
                {
                    var online = await calls[i].online.ConfigureAwait(false);
                    var active = await calls[i].active.ConfigureAwait(false);
                    counts[i] = new BucketCounts(calls[i].role, online, Math.Max(0, active - online), await calls[i].available.ConfigureAwait(false));
                }

                return counts;
            },
            (db, keys, roles: Roles.All, nowMs, recentFrom), idempotent: true, ct).ConfigureAwait(false);
    }
}
