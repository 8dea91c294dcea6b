using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.RealtimeGateway.Hubs;
using StackExchange.Redis;
using PresenceEntry = Presence.RealtimeGateway.Hubs.PresenceEntry;
using Role = Presence.Core.Role;

namespace Presence.RealtimeGateway.Watching;

/// <summary>
/// Current statuses for a watcher's first view, computed from the <c>online</c>, <c>lastseen</c> and
/// <c>available</c> keys (DESIGN.md §1). Kept in the gateway for now; the shared reader of status-query does the
/// same for the board, and the two can be unified there.
/// </summary>
internal sealed class PresenceSnapshots(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    RedisResilience resilience,
    IOptionsMonitor<PresenceOptions> options,
    TimeProvider time)
{
    /// <summary>Every therapist that is online, recent or available.</summary>
    public async Task<PresenceSnapshot> AllTherapistsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var recentFromMs = nowMs - (long)options.CurrentValue.RecentWindow.TotalMilliseconds;
        var db = redis.GetDatabase();
        const Role role = Role.Therapist;
        // Issued together: three reads pipelined.
        var online = Read(static s => s.db.SortedSetRangeByScoreWithScoresAsync(s.key, s.from, double.PositiveInfinity, Exclude.Start),
            (db, key: keys.Online(role), from: (double)nowMs), ct);
        var lastSeen = Read(static s => s.db.SortedSetRangeByScoreWithScoresAsync(s.key, s.from, double.PositiveInfinity),
            (db, key: keys.LastSeen(role), from: (double)recentFromMs), ct);
        var available = Read(static s => s.db.SetMembersAsync(s.key), (db, key: keys.Available(role)), ct);
        await Task.WhenAll(online, lastSeen, available).ConfigureAwait(false);

        var onlineIds = (await online.ConfigureAwait(false)).Select(e => e.Element.ToString()).ToHashSet(StringComparer.Ordinal);
        var seen = (await lastSeen.ConfigureAwait(false)).ToDictionary(e => e.Element.ToString(), e => (long)e.Score, StringComparer.Ordinal);
        var availableIds = (await available.ConfigureAwait(false)).Select(v => v.ToString()).ToHashSet(StringComparer.Ordinal);

        var ids = onlineIds.Concat(seen.Keys).Concat(availableIds).Distinct(StringComparer.Ordinal);
        var entries = new List<PresenceEntry>();
        foreach (var id in ids)
        {
            long? lastActiveMs = seen.TryGetValue(id, out var ms) ? ms : null;
            var status = onlineIds.Contains(id) ? PresenceStatus.Online
                : lastActiveMs is not null ? PresenceStatus.Recent
                : PresenceStatus.Available;
            entries.Add(Entry(role, id, status, availableIds.Contains(id), lastActiveMs));
        }

        return new PresenceSnapshot { GeneratedAt = now, Entries = [.. entries.OrderBy(e => e.Status, StatusOrder).ThenByDescending(e => e.LastActive)] };
    }

    /// <summary>The named users of a role, each with its bucket (<c>offline</c> included).</summary>
    public async Task<PresenceSnapshot> UsersAsync(Role role, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var recentFromMs = nowMs - (long)options.CurrentValue.RecentWindow.TotalMilliseconds;
        if (ids.Count == 0)
        {
            return new PresenceSnapshot { GeneratedAt = now, Entries = [] };
        }

        var db = redis.GetDatabase();
        RedisValue[] members = [.. ids.Select(id => (RedisValue)id)];
        var online = Read(static s => s.db.SortedSetScoresAsync(s.key, s.members), (db, key: keys.Online(role), members), ct);
        var lastSeen = Read(static s => s.db.SortedSetScoresAsync(s.key, s.members), (db, key: keys.LastSeen(role), members), ct);
        var available = role == Role.Therapist
            ? Read(static s => s.db.SetContainsAsync(s.key, s.members), (db, key: keys.Available(role), members), ct)
            : Task.FromResult(new bool[ids.Count]);
        await Task.WhenAll(online, lastSeen, available).ConfigureAwait(false);

        var onlineUntil = await online.ConfigureAwait(false);
        var seen = await lastSeen.ConfigureAwait(false);
        var flags = await available.ConfigureAwait(false);
        var entries = new PresenceEntry[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            long? lastActiveMs = seen[i] is { } s ? (long)s : null;
            var status = onlineUntil[i] > nowMs ? PresenceStatus.Online
                : lastActiveMs >= recentFromMs ? PresenceStatus.Recent
                : flags[i] ? PresenceStatus.Available
                : PresenceStatus.Offline;
            entries[i] = Entry(role, ids[i], status, flags[i], lastActiveMs);
        }

        return new PresenceSnapshot { GeneratedAt = now, Entries = entries };
    }

    private static readonly Comparer<string> StatusOrder = Comparer<string>.Create((a, b) => Rank(a).CompareTo(Rank(b)));

    private static int Rank(string status) => status switch
    {
        "online" => 0,
        "recent" => 1,
        "available" => 2,
        _ => 3,
    };

    private static PresenceEntry Entry(Role role, string id, PresenceStatus status, bool available, long? lastActiveMs) => new()
    {
        Role = role.Name(),
        Id = id,
        Status = status.Name(),
        Available = available,
        LastActive = lastActiveMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
    };

    private Task<T> Read<T, TState>(Func<TState, Task<T>> call, TState state, CancellationToken ct) =>
        resilience.ExecuteAsync(static (s, _) => s.call(s.state), (call, state), idempotent: true, ct).AsTask();
}
